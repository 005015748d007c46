#!/usr/bin/env bash
# The interactive console of a VM (issue 16 item 3): what `zeroctl console -i` sends goes to
# QEMU's serial (the shim keeps QEMU's stdin, -chardev stdio, a pipe), where the guest's shell
# reads it on ttyS0, and its answer comes back from the console log. Real zerod, QEMU (TCG).
. "$(dirname "$0")/lib.sh"

start_zerod_with_vm_image
expect 202 POST /v1/instances '{"name":"v1","mode":"vm","image":"bb","memory_mib":256,"command":["/bin/sh"]}'
wait_op "$(jbody .id)"
# The guest is up once its shell prompts on the serial console.
wait_console v1 '# ' 60
(printf 'echo vm-answer-$((6*7))\n'; sleep 3) | ZERO_URL="unix:$SOCK" "$ZEROCTL" console -i v1 >"$T/con.out" 2>"$T/con.err" ||
  fail "console -i of a VM failed: $(cat "$T/con.out" "$T/con.err")"
grep -q 'vm-answer-42' "$T/con.out" || fail "the VM's shell did not answer: '$(cat "$T/con.out")' ($(cat "$T/con.err"))"
[ "$(inst v1 state)" = running ] || fail "leaving the console stopped v1"
log "console -i of a VM: the guest's shell on ttyS0 read the line and answered"
# exec runs commands in containers only: a VM's supervisor has no exec (409).
rc=0; ZERO_URL="unix:$SOCK" "$ZEROCTL" exec v1 -- true 2>"$T/exec.err" || rc=$?
[ "$rc" = 1 ] && grep -q 'HTTP 409' "$T/exec.err" || fail "exec into a VM: rc $rc, $(cat "$T/exec.err")"
log "exec into a VM: $(cat "$T/exec.err")"
act POST /v1/instances/v1/stop '{"timeout_s":0}'
act DELETE /v1/instances/v1
stop_zerod
assert_nothing_left

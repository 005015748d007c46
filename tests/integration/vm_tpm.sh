#!/usr/bin/env bash
# A vTPM per VM (issue 17 item 2): "tpm": true gives the VM a TPM 2.0 (swtpm under the instance's
# shim, QEMU's tpm-crb): inside, /dev/tpm0 answers TPM2_GetRandom, and a value written to an NV
# index survives a stop and start and a switch to a container and back (the state is kept in the
# instance's state directory). swtpm dies with QEMU's shim (kill -9 included) and goes with the
# instance. "tpm" that is not a boolean, or where swtpm is missing, is refused (422) with a reason.
. "$(dirname "$0")/lib.sh"

start_zerod_with_vm_image
expect 200 GET /v1/node
[ "$(jbody '.plugins[] | select(.mode=="vm") | .tpm')" = true ] || fail "the vm plugin offers no vTPM: $(cat "$BODY")"

# The guest prints what its NV index holds at each boot (rc 0000028b: not defined yet), defines
# and writes it on the first, and answers a GetRandom.
NV=5a45524f2d54504d # "ZERO-TPM"
# shellcheck disable=SC2016 # expanded in the instance
cmd='trap "exit 0" TERM
if [ -c /dev/tpm0 ]; then
  echo "BOOT $(zero-tpm nvread 01500016 8)"
  zero-tpm nvread 01500016 8 >/dev/null || { zero-tpm nvdefine 01500016 8 && zero-tpm nvwrite 01500016 '$NV'; } >/dev/null
  echo "RANDOM $(zero-tpm random 16)"
else
  echo "BOOT no /dev/tpm0"
fi
echo TPM-DONE
sleep 1000 & wait'
body() { # body NAME MODE [EXTRA JSON]
  echo "{\"name\":\"$1\",\"mode\":\"$2\",\"image\":\"bb\",\"memory_mib\":256,\"tpm\":true${3:-},\"command\":[\"/bin/sh\",\"-c\",$(jq -Rn --arg c "$cmd" '$c')]}"
}
# console NAME: the console into $BODY, without the serial's carriage returns
console() { api GET "/v1/instances/$1/console"; tr -d '\r' <"$BODY" >"$BODY.txt"; mv "$BODY.txt" "$BODY"; }
# count NAME TEXT: how many lines of the console hold TEXT
count() { console "$1"; grep -c -- "$2" "$BODY" || true; }
wait_count() { # wait_count NAME TEXT N: until the console holds N such lines (60 s)
  for _ in $(seq 1 600); do [ "$(count "$1" "$2")" -ge "$3" ] && return 0; sleep 0.1; done
  fail "console of $1 has $(count "$1" "$2") lines with '$2', not $3: $(tail -c 800 "$BODY")"
}
swtpm_of() { pgrep -f "swtpm socket .*$T/run/instances/$1/" || true; }

# bad input: refused, nothing made
expect 422 POST /v1/instances '{"name":"bad","mode":"vm","image":"bb","tpm":"yes","command":["true"]}'
[ "$(jbody .error.code)" = invalid ] && jbody .error.message | grep -q tpm || fail "tpm=\"yes\": $(cat "$BODY")"
expect 404 GET /v1/instances/bad

expect 202 POST /v1/instances "$(body t1 vm)"
wait_op "$(jbody .id)"
expect 200 GET /v1/instances/t1
[ "$(jbody .tpm)" = true ] || fail "t1 does not say tpm: $(cat "$BODY")"
id=$(jbody .id)
qemu=$(jbody .pid)
wait_count t1 TPM-DONE 1
console t1
grep -q "BOOT rc=0000028b data=$" "$BODY" || fail "t1's first boot found its NV index defined, or no TPM: $(tail -c 800 "$BODY")"
grep -Eq "RANDOM rc=00000000 data=[0-9a-f]{32}$" "$BODY" || fail "t1's TPM did not answer GetRandom: $(tail -c 800 "$BODY")"
log "t1's guest has /dev/tpm0: $(grep RANDOM "$BODY" | tail -1)"
# swtpm runs under the instance's shim (its parent), its state in the instance's state directory
tpm=$(swtpm_of "$id")
[ -n "$tpm" ] && [ "$(wc -w <<<"$tpm")" = 1 ] || fail "not one swtpm for t1: '$tpm'"
shim=$(cat "$T/run/instances/$id/shim.pid")
[ "$(awk '{print $4}' "/proc/$tpm/stat")" = "$shim" ] || fail "swtpm $tpm is not the child of t1's shim $shim"
[ "$(awk '{print $4}' "/proc/$qemu/stat")" = "$shim" ] || fail "QEMU $qemu is not the child of t1's shim $shim"
ls "$T/state/instances/$id/tpm/" | grep -q permall || fail "no TPM state in t1's state directory: $(ls -la "$T/state/instances/$id/tpm/")"
tr '\0' ' ' <"/proc/$qemu/cmdline" | grep -q -- "-tpmdev emulator,id=tpm0,chardev=tpmchr -device tpm-crb,tpmdev=tpm0" ||
  fail "t1's QEMU has no vTPM: $(tr '\0' ' ' <"/proc/$qemu/cmdline")"
log "swtpm $tpm runs beside QEMU $qemu under shim $shim; state in STATE/instances/$id/tpm"

# stop and start: the NV index holds what the first boot wrote
act POST /v1/instances/t1/stop '{"timeout_s":20}'
[ -z "$(swtpm_of "$id")" ] || fail "swtpm outlived t1's stop: $(swtpm_of "$id")"
act POST /v1/instances/t1/start
wait_count t1 TPM-DONE 2
wait_count t1 "BOOT rc=00000000 data=$NV" 1
log "after a stop and start t1's NV index holds $NV"

# kill -9 of the shim: QEMU and swtpm die with it (PDEATHSIG), nothing is left
tpm=$(swtpm_of "$id")
shim=$(cat "$T/run/instances/$id/shim.pid")
[ -n "$tpm" ] || fail "no swtpm for the running t1"
kill -9 "$shim"
for _ in $(seq 1 50); do alive "$tpm" || break; sleep 0.1; done
alive "$tpm" && fail "swtpm $tpm outlived its shim's kill -9"
# a lost shim leaves the instance in error (its exit unknown): idle, it may switch
for _ in $(seq 1 100); do [ "$(inst t1 state)" = error ] && break; sleep 0.1; done
[ "$(inst t1 state)" = error ] || fail "t1 is $(inst t1 state) after its shim's kill -9"
log "kill -9 of t1's shim took swtpm $tpm with it"

# vm -> container -> vm: the container has no TPM, the state waits in the state directory (an
# idle instance's switch only changes its mode; a running one's starts it in the new mode)
act POST /v1/instances/t1/switch '{"mode":"container"}'
act POST /v1/instances/t1/start
wait_count t1 "BOOT no /dev/tpm0" 1
[ -z "$(swtpm_of "$id")" ] || fail "a container has a swtpm: $(swtpm_of "$id")"
act POST /v1/instances/t1/switch '{"mode":"vm"}'
wait_count t1 "BOOT rc=00000000 data=$NV" 2
log "after vm -> container -> vm t1's NV index still holds $NV"

act DELETE "/v1/instances/t1?force=true"
[ ! -e "$T/state/instances/$id" ] || fail "t1's state directory (its vTPM) outlived it"
[ -z "$(swtpm_of "$id")" ] || fail "swtpm outlived t1's delete"

# swtpm missing: the node says why, and "tpm": true is refused
stop_zerod
ZEROD_CONF_EXTRA=$'[vm]\nswtpm = /nonexistent/swtpm' start_zerod
expect 200 GET /v1/node
[ "$(jbody '.plugins[] | select(.mode=="vm") | .tpm')" = false ] || fail "the node offers a vTPM without swtpm: $(cat "$BODY")"
jbody '.plugins[] | select(.mode=="vm") | .tpm_reason' | grep -q 'install swtpm' || fail "no reason for no vTPM: $(cat "$BODY")"
expect 422 POST /v1/instances "$(body t2 vm)"
jbody .error.message | grep -q 'install swtpm' || fail "tpm without swtpm refused without the reason: $(cat "$BODY")"
expect 404 GET /v1/instances/t2
log "without swtpm: $(jbody .error.message)"
stop_zerod
assert_nothing_left
echo "PASS"

#!/usr/bin/env bash
# A container created through the API runs its command (output in the console), is stopped,
# started again and deleted; afterwards no process, mount or run directory of it is left.
. "$(dirname "$0")/lib.sh"

start_zerod
make_image busybox
# the import also made the image's base filesystem: ext4, clean, holding the rootfs's files
expect 200 GET /v1/images/busybox
base=$T/state/images/busybox/base.ext4
[ "$(jbody .base_size_bytes)" = "$(stat -c %s "$base")" ] || fail "base_size_bytes $(jbody .base_size_bytes) is not the size of $base"
e2fsck -fn "$base" >/dev/null 2>&1 || fail "e2fsck finds $base unclean"
debugfs -R 'stat /bin/busybox' "$base" 2>/dev/null | grep -q 'Type: regular' || fail "$base lacks /bin/busybox"
cmp <(debugfs -R 'cat /bin/busybox' "$base" 2>/dev/null) "$T/rootfs-busybox/bin/busybox" || fail "/bin/busybox differs in $base"
log "the image has a clean ext4 base with the rootfs's files"

# An image for VMs too: kernel and initrd are copied into it (any files do here).
head -c 4096 /dev/urandom >"$T/vmlinuz"; head -c 1024 /dev/urandom >"$T/initrd.img"
act POST /v1/images "{\"name\":\"bootable\",\"source\":\"$T/rootfs-busybox\",\"kernel\":\"$T/vmlinuz\",\"initrd\":\"$T/initrd.img\"}"
expect 200 GET /v1/images/bootable
[ "$(jbody .kernel)" = true ] && [ "$(jbody .initrd)" = true ] || fail "bootable image: $(cat "$BODY")"
cmp "$T/vmlinuz" "$T/state/images/bootable/vmlinuz" || fail "the image's kernel differs from the one imported"
cmp "$T/initrd.img" "$T/state/images/bootable/initrd.img" || fail "the image's initrd differs"
expect 200 GET /v1/images/busybox
[ "$(jbody .kernel)" = false ] || fail "busybox shows a kernel: $(cat "$BODY")"
expect 204 DELETE /v1/images/bootable
[ -e "$T/state/images/bootable" ] && fail "the deleted image's files are left"
log "an image imports a kernel and an initrd with its rootfs"

cmd='["/bin/sh","-c","echo hello-from-zero; trap \"echo got-term; exit 0\" TERM; while true; do sleep 0.1; done"]'
expect 202 POST /v1/instances "{\"name\":\"c1\",\"image\":\"busybox\",\"cpus\":1,\"memory_mib\":64,\"command\":$cmd,\"env\":{\"GREETING\":\"hi\"}}"
[ "$(jbody .kind)" = create ] || fail "create answered with a $(jbody .kind) operation"
op=$(jbody .id)
wait_op "$op"
[ "$(inst c1 state)" = running ] || fail "c1 is $(inst c1 state), not running"
pid1=$(inst c1 pid)
alive "$pid1" || fail "c1's pid $pid1 is not alive"
id=$(inst c1 id)
[ -d "$T/run/instances/$id" ] || fail "no run directory for c1"
wait_console c1 hello-from-zero
run_times c1 running
log "c1 runs as pid $pid1 and printed its greeting"

act POST /v1/instances/c1/stop '{"timeout_s":5}'
[ "$(inst c1 state)" = stopped ] || fail "c1 is $(inst c1 state) after stop"
[ "$(inst c1 exit_code)" = 0 ] || fail "c1 exit code $(inst c1 exit_code), expected 0 (its TERM trap)"
wait_console c1 got-term
alive "$pid1" && fail "c1's pid $pid1 still runs after stop"
[ -z "$(leftover_mounts)" ] || fail "mounts left after stop: $(leftover_mounts)"
run_times c1 stopped
stopped1=$(jbody .stopped_at)
log "c1 stopped gracefully with exit code 0"

act POST /v1/instances/c1/start
[ "$(inst c1 state)" = running ] || fail "c1 is $(inst c1 state) after start"
pid2=$(inst c1 pid)
alive "$pid2" || fail "c1's new pid $pid2 is not alive"
[ "$pid2" != "$pid1" ] || fail "c1 kept its old pid"
run_times c1 running "$stopped1"
log "c1 runs again as pid $pid2"

# a command that ends by itself is recorded with its exit code
expect 202 POST /v1/instances '{"name":"c2","image":"busybox","command":["/bin/sh","-c","echo bye; exit 7"]}'
wait_op "$(jbody .id)"
wait_state c2 stopped
[ "$(inst c2 exit_code)" = 7 ] || fail "c2 exit code $(inst c2 exit_code), expected 7"
run_times c2 stopped
log "c2 exited by itself with code 7"

act DELETE /v1/instances/c1
act DELETE /v1/instances/c2
expect 404 GET /v1/instances/c1
expect 404 GET /v1/instances/c2
alive "$pid2" && fail "c1's pid $pid2 still runs after delete"
[ -d "$T/run/instances/$id" ] && fail "c1's run directory is left"
[ -d "$T/state/instances/$id" ] && fail "c1's state directory is left"
[ -z "$(leftover_mounts)" ] || fail "mounts left: $(leftover_mounts)"
[ -z "$(crun --root "$T/run/crun" list -q 2>/dev/null)" ] || fail "crun still lists containers"
stop_zerod
[ -z "$(leftover_processes)" ] || fail "processes left: $(ps -o pid,args -p "$(leftover_processes | tr '\n' ',')0")"
log "nothing of c1 or c2 is left"
echo "PASS"

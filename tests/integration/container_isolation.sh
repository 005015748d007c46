#!/usr/bin/env bash
# A container gets Docker's isolation defaults: the seccomp profile (no new user namespaces, no
# mounts), masked and read-only /proc and /sys paths, and normal work still works (a shell,
# fork, the network through its NIC, writes on the root volume). With "userns": true its root
# is an unprivileged host uid, and the root volume's files are still its own (idmapped mount).
# GET /v1/node says whether the pids limit is enforced, and config.json agrees.
. "$(dirname "$0")/lib.sh"

use_netns
start_zerod
make_image busybox
expect 201 POST /v1/networks '{"name":"net1","subnet":"10.79.0.0/24"}'

probe=$(cat <<'EOF'
grep '^Seccomp:' /proc/1/status
unshare -U -r -m true 2>/dev/null; echo "UNSHARE=$?"
mount -t tmpfs x /mnt 2>/dev/null; echo "MOUNT=$?"
for m in /proc/kcore /proc/keys /proc/timer_list /proc/interrupts /sys/firmware; do
  [ -d "$m" ] && echo "MASKED $m $(ls -A "$m" | wc -c)"
  [ -f "$m" ] || [ -c "$m" ] && echo "MASKED $m $(cat "$m" 2>/dev/null | wc -c)"
done
echo 1 >/proc/sys/kernel/domainname 2>/dev/null; echo "PROCSYS=$?"
echo kept >/kept && echo "ROOTFS $(cat /kept)"  # on the root volume, inside the container
sh -c 'echo FORK-OK'
ping -c1 -W2 10.79.0.1 >/dev/null && echo PING-OK
echo "UID_MAP $(cat /proc/self/uid_map)"
echo "OWNER $(stat -c %u:%g /bin/busybox) $(stat -c %u:%g /kept) ID $(id -u):$(id -g)"
echo PROBE-DONE
sleep 1000
EOF
)
cmd=$(jq -cn --arg c "$probe" '["/bin/sh","-c",$c]')

expect 202 POST /v1/instances "{\"name\":\"c1\",\"image\":\"busybox\",\"pids_max\":512,\"command\":$cmd,\"nics\":[{\"network\":\"net1\"}]}"
wait_op "$(jbody .id)"
[ "$(inst c1 pids_max)" = 512 ] && [ "$(inst c1 userns)" = false ] || fail "c1's spec: $(cat "$BODY")"
wait_console c1 PROBE-DONE
api GET /v1/instances/c1/console
out=$T/c1.console
cp "$BODY" "$out"
grep -qP '^Seccomp:\t2$' "$out" || fail "c1 runs without a seccomp filter: $(grep Seccomp "$out")"
grep -qx 'UNSHARE=1' "$out" || fail "unshare -U -r -m worked in c1: $(grep UNSHARE "$out")"
grep -qx 'MOUNT=1' "$out" || fail "mount -t tmpfs worked in c1"
grep -qx 'PROCSYS=1' "$out" || fail "/proc/sys is writable in c1"
log "c1: Seccomp 2, unshare -U -r -m and mount -t tmpfs fail, /proc/sys is read-only"
# Masked: what exists on this host reads empty inside (a file is /dev/null, a directory an empty
# tmpfs). This kernel may lack /proc/kcore; /proc/interrupts and /proc/keys are always there.
for m in /proc/kcore /proc/keys /proc/timer_list /proc/interrupts /sys/firmware; do
  [ -e "$m" ] || { log "$m: not on this host"; continue; }
  grep -qx "MASKED $m 0" "$out" || fail "$m is not masked in c1: $(grep "MASKED $m" "$out")"
done
[ "$(wc -c </proc/interrupts)" -gt 0 ] || fail "the host's /proc/interrupts is empty: the masking check proves nothing"
grep -q '^MASKED /proc/interrupts 0$' "$out" || fail "/proc/interrupts is not masked"
log "c1: masked paths read empty (the host's /proc/interrupts has $(wc -c </proc/interrupts) bytes)"
grep -qx 'ROOTFS kept' "$out" && grep -qx FORK-OK "$out" && grep -qx PING-OK "$out" ||
  fail "normal work failed in c1: $(tail -c 400 "$out")"
grep -q '^UID_MAP *0 *0 *4294967295$' "$out" || fail "c1 has a user namespace: $(grep UID_MAP "$out")"
log "c1: a shell forks, writes on its root volume and pings its gateway; no user namespace"

# The runtime gets the profile compiled (crun loads it instead of compiling it at each start) and
# the declarative profile beside it.
config=$T/run/instances/$(inst c1 id)/bundle/config.json
[ "$(jq -r '.linux.seccomp.defaultAction' "$config")" = SCMP_ACT_ERRNO ] || fail "config.json has no seccomp profile"
[ "$(jq -r '.annotations["run.oci.seccomp_bpf_data"] | length > 1000' "$config")" = true ] ||
  fail "config.json has no compiled seccomp program"
jq -e '.linux.maskedPaths | index("/sys/devices/virtual/powercap")' "$config" >/dev/null || fail "powercap is not masked"

# pids: enforced only where the cgroup manager enforces limits; what the node says is what
# config.json does.
expect 200 GET /v1/node
enforced=$(jbody .features.pids_limit_enforced)
[ "$enforced" = "$(jbody .features.cgroups_enforced)" ] || fail "pids and cgroup enforcement differ: $(cat "$BODY")"
if [ "$enforced" = true ]; then
  [ "$(jq -r '.linux.resources.pids.limit' "$config")" = 512 ] || fail "config.json lacks pids.limit 512"
else
  [ "$(jq -r '.linux.resources' "$config")" = null ] || fail "config.json sets resources that are not enforced"
  log "pids limit not enforced here ($(jq -r '.plugins[] | select(.mode=="container") | .reason' "$BODY"))"
fi
expect 422 POST /v1/instances '{"name":"bad","image":"busybox","pids_max":0,"command":["true"]}'
expect 422 POST /v1/instances '{"name":"bad","image":"busybox","userns":"yes","command":["true"]}'
act DELETE "/v1/instances/c1?force=true"

# userns: root inside is host uid userns_base (the default), the image's files are root's inside,
# and what root writes lands on the volume as uid 0 (the same bytes serve every mode).
act POST /v1/volumes '{"name":"data","size_bytes":33554432}'
expect 200 GET /v1/volumes/data
data_file=$T/state/card/pool/volumes/$(jbody .id).raw
ucmd=$(jq -cn --arg c "$probe" '["/bin/sh","-c",("echo in-data >/data/f && echo \"DATA $(stat -c %u /data/f)\"; " + $c)]')
expect 202 POST /v1/instances "{\"name\":\"u1\",\"image\":\"busybox\",\"userns\":true,\"command\":$ucmd,\"volumes\":[{\"name\":\"data\",\"path\":\"/data\"}]}"
wait_op "$(jbody .id)"
[ "$(inst u1 userns)" = true ] || fail "u1's spec: $(cat "$BODY")"
wait_console u1 PROBE-DONE
api GET /v1/instances/u1/console
cp "$BODY" "$T/u1.console"
grep -q '^UID_MAP *0 *1610612736 *65536$' "$T/u1.console" || fail "u1's uid_map: $(grep UID_MAP "$T/u1.console")"
grep -qx 'OWNER 0:0 0:0 ID 0:0' "$T/u1.console" || fail "u1 does not own its files: $(grep OWNER "$T/u1.console")"
grep -qx 'ROOTFS kept' "$T/u1.console" && grep -qx 'DATA 0' "$T/u1.console" || fail "u1 cannot write its volumes"
grep -qx 'UNSHARE=1' "$T/u1.console" && grep -qP '^Seccomp:\t2$' "$T/u1.console" || fail "u1 lost its seccomp rules"
upid=$(inst u1 pid)
[ "$(awk '/^Uid:/ {print $2}' "/proc/$upid/status")" = 1610612736 ] || fail "u1's init is not host uid 1610612736"
log "u1: root inside is host uid 1610612736, owns its idmapped root and data volumes"
act DELETE "/v1/instances/u1?force=true"
# on disk the files are root's: the idmapping was the mount's only
debugfs -R 'stat /f' "$data_file" 2>/dev/null | grep -q 'User: *0 *Group: *0' ||
  fail "u1's file on the data volume is not stored as uid 0"
act DELETE /v1/volumes/data
stop_zerod
assert_nothing_left
echo "PASS"

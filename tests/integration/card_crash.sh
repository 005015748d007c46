#!/usr/bin/env bash
# kill -9 of zerod, and separately of qemu-storage-daemon, with two containers running on card
# volumes and a card network: afterwards the volumes are still exported, the files are intact
# (a container's root is a direct loop device over its file: the daemon's crash does not touch
# it, where its FUSE export's did and the containers were restarted), and once everything is
# deleted losetup, mount and ip link show nothing of the test's.
. "$(dirname "$0")/lib.sh"

use_netns
start_zerod
make_image busybox
expect 201 POST /v1/networks '{"name":"net1","subnet":"10.88.0.0/24"}'

# Each container writes its file once, syncs, and prints it at every start with a start count.
for c in c1 c2; do
  cmd="n=\$(cat /count 2>/dev/null || echo 0); n=\$((n+1)); echo \$n > /count; [ -f /f ] || echo bytes-of-$c > /f; sync; echo \"START \$n \$(cat /f)\"; while true; do sleep 1; done"
  expect 202 POST /v1/instances "{\"name\":\"$c\",\"image\":\"busybox\",\"command\":[\"/bin/sh\",\"-c\",$(jq -Rn --arg c "$cmd" '$c')],\"nics\":[{\"network\":\"net1\"}]}"
  wait_op "$(jbody .id)"
  wait_console $c "START 1 bytes-of-$c"
done
p1=$(inst c1 pid); p2=$(inst c2 pid)
dev1=$(inst c1 'volumes[0].export.path'); dev2=$(inst c2 'volumes[0].export.path')
qsd=$(qsd_pid)
alive "$qsd" || fail "no qemu-storage-daemon running (pid '$qsd')"
log "c1 ($p1, $dev1) and c2 ($p2, $dev2) run on card volumes; qemu-storage-daemon is $qsd"

crash_zerod
start_zerod
[ "$(qsd_pid)" = "$qsd" ] || fail "zerod started a new qemu-storage-daemon instead of adopting $qsd"
[ "$(inst c1 pid)" = "$p1" ] && [ "$(inst c2 pid)" = "$p2" ] || fail "containers changed pids across a zerod crash"
[ "$(inst c1 'volumes[0].export.path')" = "$dev1" ] || fail "c1's export changed across a zerod crash"
losetup "$dev1" | grep -qF "$T" || fail "$dev1 no longer backs c1's volume"
in_ns ip -o link show | grep -q "zv-$(inst c1 'nics[0].id' | cut -c1-12)" || fail "c1's veth is gone"
log "after kill -9 of zerod: the daemon is adopted, exports, veths and containers untouched"

kill -9 "$qsd"
for _ in $(seq 1 100); do
  new=$(qsd_pid)
  [ -n "$new" ] && [ "$new" != "$qsd" ] && alive "$new" && break
  sleep 0.1
done
alive "$(qsd_pid)" && [ "$(qsd_pid)" != "$qsd" ] || fail "qemu-storage-daemon was not restarted"
# A container's root is a direct loop device over its raw file in the pool: nothing of it is the
# daemon's, so the containers run on, on the same devices, and write there.
for _ in $(seq 1 100); do grep -q "Restoring the card's exports" "$T/zerod.log" && break; sleep 0.05; done
sleep 1 # what the agent does once it restored them (it restarted containers whose exports were lost)
for c in c1 c2; do
  [ "$(inst $c state)" = running ] || fail "$c is $(inst $c state) after the daemon's crash"
  api GET "/v1/instances/$c/console"
  grep -q "START 2" "$BODY" && fail "$c was restarted though its device did not depend on the daemon"
done
[ "$(inst c1 pid)" = "$p1" ] && [ "$(inst c2 pid)" = "$p2" ] || fail "containers changed pids across the daemon's crash"
[ "$(inst c1 'volumes[0].export.path')" = "$dev1" ] || fail "c1's export changed across the daemon's crash"
dd if="$dev1" of=/dev/null bs=64k count=64 iflag=direct 2>/dev/null || fail "c1's device $dev1 fails reads"
log "after kill -9 of qemu-storage-daemon: a new daemon; the containers and their devices untouched"

# Both at once, as a host's power cut takes them (the lab's host reboots): the zerod that starts
# finds no daemon and finds the exports: nothing is restarted, and no restart is left to resume.
crash_zerod
kill -9 "$(qsd_pid)"
start_zerod
wait_state c1 running
wait_state c2 running
sleep 1
for c in c1 c2; do
  [ "$(inst $c state)" = running ] || fail "$c is $(inst $c state) (exit code $(inst $c exit_code))"
  api GET "/v1/instances/$c/console"
  grep -q "START 2" "$BODY" && fail "$c was restarted: $(tail -n 3 "$BODY")"
done
[ "$(inst c1 pid)" = "$p1" ] && [ "$(inst c2 pid)" = "$p2" ] || fail "containers changed pids"
grep -q 'Resuming operation .* restart of' "$T/zerod.log" && fail "a restart launched at start was resumed"
log "after kill -9 of zerod and the daemon together: the containers run on"

act DELETE "/v1/instances/c1?force=true"
act DELETE "/v1/instances/c2?force=true"
expect 204 DELETE /v1/networks/net1
stop_zerod
[ -z "$(leftover_loops)" ] || fail "loop devices left: $(leftover_loops)"
[ -z "$(leftover_mounts)" ] || fail "mounts left: $(leftover_mounts)"
[ -z "$(leftover_links)" ] || fail "links left: $(leftover_links)"
in_ns ip -o link show | grep -q ' zb-' && fail "bridge left: $(in_ns ip -o link show)"
log "nothing is left"

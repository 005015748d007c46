#!/usr/bin/env bash
# kill -9 of zerod, and separately of qemu-storage-daemon, with two containers running on card
# volumes and a card network: afterwards the volumes are exported again, the files are intact,
# and once everything is deleted losetup, mount and ip link show nothing of the test's.
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
# the containers' old block devices died with the daemon: zerod restarts them on new exports
wait_console c1 "START 2 bytes-of-c1"
wait_console c2 "START 2 bytes-of-c2"
wait_state c1 running
wait_state c2 running
[ "$(inst c1 pid)" != "$p1" ] || fail "c1 was not restarted"
d=$(inst c1 'volumes[0].export.path')
[ -b "$d" ] && losetup "$d" | grep -qF "$T" || fail "c1's new export $d is not a loop device over the test's export"
log "after kill -9 of qemu-storage-daemon: a new daemon, new exports, containers restarted with their files"

# Both at once, as a host's power cut takes them (the lab's host reboots): the zerod that starts
# finds no daemon, makes the exports anew and restarts each container once. Its restart
# operations are launched while the card starts, before the unfinished operations are resumed:
# resumed a second time, one of them killed the container its twin had just started (137).
p1=$(inst c1 pid); p2=$(inst c2 pid)
crash_zerod
kill -9 "$(qsd_pid)"
start_zerod
wait_console c1 "START 3 bytes-of-c1"
wait_console c2 "START 3 bytes-of-c2"
wait_state c1 running
wait_state c2 running
[ "$(inst c1 pid)" != "$p1" ] && [ "$(inst c2 pid)" != "$p2" ] || fail "the containers were not restarted"
sleep 1
for c in c1 c2; do
  [ "$(inst $c state)" = running ] || fail "$c is $(inst $c state) (exit code $(inst $c exit_code)) after its restart"
  api GET "/v1/instances/$c/console"
  grep -q "START 4" "$BODY" && fail "$c was started twice: $(tail -n 3 "$BODY")"
done
grep -q 'Resuming operation .* restart of' "$T/zerod.log" && fail "a restart launched at start was resumed too"
log "after kill -9 of zerod and the daemon together: each container restarted once"

act DELETE "/v1/instances/c1?force=true"
act DELETE "/v1/instances/c2?force=true"
expect 204 DELETE /v1/networks/net1
stop_zerod
[ -z "$(leftover_loops)" ] || fail "loop devices left: $(leftover_loops)"
[ -z "$(leftover_mounts)" ] || fail "mounts left: $(leftover_mounts)"
[ -z "$(leftover_links)" ] || fail "links left: $(leftover_links)"
in_ns ip -o link show | grep -q ' zb-' && fail "bridge left: $(in_ns ip -o link show)"
log "nothing is left"

#!/usr/bin/env bash
# zerod --stop-card (issue 16 item 5): the teardown of a node's card once zerod is stopped. With
# an instance running it refuses, naming it, and touches nothing; with none it stops the card's
# qemu-storage-daemon (and its shim) and removes its bridges and links, so that nothing of the
# node runs; the next zerod starts the card again with its volumes and networks as they were.
# Real zerod, real card, real containers.
. "$(dirname "$0")/lib.sh"

stop_card() { # stop_card: runs zerod --stop-card as start_zerod runs zerod; its output in $T/stop.log
  nsenter --net="/run/netns/$NETNS" "$ZEROD" --config "$T/lib.conf" --state-dir "$T/state" --run-dir "$T/run" \
    --plugin-dir "$ZERO_PLUGIN_DIR" --shim "$ZERO_SHIM" --stop-card >"$T/stop.log" 2>&1
}

start_zerod
make_image busybox
expect 201 POST /v1/networks '{"name":"net1","subnet":"10.96.0.0/24"}'
act POST /v1/volumes '{"name":"data","size_bytes":16777216}'
act POST /v1/instances '{"name":"c1","image":"busybox","memory_mib":16,"nics":[{"network":"net1"}],"volumes":[{"name":"data","path":"/data"}],"command":["/bin/sh","-c","trap \"exit 0\" TERM; cat /data/f 2>/dev/null; echo kept > /data/f; sync; sleep 1000 & wait"]}'
qsd=$(qsd_pid)
alive "$qsd" || fail "no storage daemon"

# A running zerod holds the node: refused by its lock.
stop_card && fail "--stop-card ran beside a running zerod: $(cat "$T/stop.log")"
grep -q "Not starting" "$T/stop.log" || fail "no word of the running zerod: $(cat "$T/stop.log")"

# zerod stopped, c1 still running: refused, naming c1; the card untouched.
stop_zerod
stop_card && fail "--stop-card stopped the card under a running instance"
grep -q "instance c1 is running" "$T/stop.log" || fail "the refusal does not name c1: $(cat "$T/stop.log")"
alive "$qsd" || fail "the refused teardown stopped the storage daemon"
[ -n "$(ip -n "$NETNS" -o link show | grep ': zb-')" ] || fail "the refused teardown removed the bridge"
log "refused while zerod runs, and while an instance runs (naming it)"

start_zerod
act POST /v1/instances/c1/stop '{"timeout_s":5}'
stop_zerod
stop_card || fail "--stop-card failed: $(cat "$T/stop.log")"
for _ in $(seq 1 50); do alive "$qsd" || break; sleep 0.1; done
! alive "$qsd" || fail "the storage daemon $qsd still runs"
[ -z "$(ip -n "$NETNS" -o link show | grep -E ': z[bvt]-')" ] || fail "links left: $(ip -n "$NETNS" -o link show)"
[ -z "$(pgrep -f "$T")" ] || fail "processes left: $(pgrep -af "$T")"
assert_nothing_left
log "stopped: no daemon, no shim, no link, no mount, no loop device left"

# The next zerod starts the card again: the volume, the network and c1 as they were.
start_zerod
act POST /v1/instances/c1/start
wait_state c1 running
expect 200 GET /v1/networks/net1
[ -n "$(ip -n "$NETNS" -o link show | grep ': zb-')" ] || fail "the bridge was not made again"
wait_console c1 kept # its first boot wrote it, before the teardown
act DELETE '/v1/instances/c1?force=true'
log "the next zerod started the card again"
stop_zerod

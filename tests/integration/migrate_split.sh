#!/usr/bin/env bash
# Live migration after migrate-continue with the target out of reach (issue 15, item 3): the
# source must not run the guest again on a guess, as the target may run it too. It asks the
# target's operation until it says, the guest paused at the source meanwhile. On the two nodes
# of migrate_lib.sh, a VM with a root volume, a data volume and a NIC printing ticks:
#   took    B's zerod dies once it had the hand-over's request (fault point migrate_in.take):
#           A keeps the guest paused while B cannot be reached; B's next zerod takes the
#           volumes and runs the guest; A's operation succeeds and A forgets it
#   lost    B's zerod dies after the take (fault point migrate_in.receive) and its QEMU with
#           it, before it ran the guest: B's next zerod fails its half; A, told so, runs the
#           guest again, nothing of it is left on B
# After each: the guest runs on exactly one node, with its file and MAC.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/migrate_lib.sh"

"$ZEROD" --list-fault-points | grep -qx 'migrate_in.receive' ||
  fail "zerod has no fault point migrate_in.receive: build with -DZERO_FAULT_INJECTION=ON"
two_nodes
ticking_vm

# a_holds: for 3 s, A's operation waits at its switchover and A's guest does not run
a_holds() {
  local n m
  node A
  sleep 1
  n=$(last_tick)
  sleep 2
  expect 200 GET "/v1/operations/$MOP"
  [ "$(jbody .status)" = running ] && [ "$(jbody .step)" = switchover ] ||
    fail "A's operation did not wait for the target: $(cat "$BODY")"
  m=$(last_tick)
  [ "$m" = "$n" ] || fail "A ran the guest again (ticks $n -> $m) while the target could not say who runs it"
  [ "$(inst mv state)" = migrating ] || fail "mv on A: $(cat "$BODY")"
  log "A holds the guest paused (tick $n) while B cannot be reached"
}

# 1. B had the hand-over's request: the guest is B's, once B's zerod is back
migrate_crashing B migrate_in.take mv
a_holds
start_node B
node A
wait_op "$MOP" succeeded
runs_on B mv
expect 200 GET /v1/instances/mv
[ "$(jbody '.nics[0].mac')" = "$mac" ] || fail "mv's MAC changed on B: $(cat "$BODY")"
ticks_after "$(last_tick)" || fail "the guest does not tick on B"
nothing_of A mv
log "took: B runs mv, A forgot it"

# back to A, plainly
migrate_to A mv ",\"token\":\"$A_TOKEN\""
wait_op "$MOP" succeeded
nothing_of B mv

# 2. B's QEMU died with its zerod after the take, before it ran the guest: A runs it again
migrate_crashing B migrate_in.receive mv
a_holds
pkill -9 -f "qemu-system.*$T/b/run" || fail "no QEMU of B to kill"
start_node B
node A
wait_op "$MOP" failed
jbody .error.message | grep -q 'does not run the guest' || fail "A failed for another reason: $(cat "$BODY")"
expect 200 GET /v1/instances/mv
[ "$(jbody .state)" = running ] && [ "$(jbody '.nics[0].mac')" = "$mac" ] || fail "mv on A: $(cat "$BODY")"
ticks_after "$(last_tick)" || fail "the guest does not run on A again"
gone_from B mv
log "lost: B's half failed, A runs mv again"

node A
act DELETE "/v1/instances/mv?force=true"
act DELETE /v1/volumes/data1
stop_node A
stop_node B
log "done"

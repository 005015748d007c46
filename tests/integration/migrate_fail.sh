#!/usr/bin/env bash
# Live migration's failures (issue 15, item 3), each on a VM with a root volume, a data volume and
# a NIC on two nodes (migrate_lib.sh). The migration is slowed to 4 MiB/s (bandwidth), so that it
# is still sending when the failure comes:
#   cancel     DELETE of the source's operation: it fails canceled, the guest runs on at A
#   target     the target node dies (zerod and QEMU killed): the source's operation fails, the
#              guest runs on at A; B's next zerod undoes its half
#   link       the nodes' link breaks: the source gives up at its deadline (timeout_s), the
#              guest runs on at A; the target's half is undone when its QEMU loses the source
#   crash      the source's zerod dies right after the switchover (fault point
#              migrate.switchover.done): B runs the guest, A's next zerod forgets it
# After each: the guest answers on A (or B) with its files, nothing of it is left on the other.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/migrate_lib.sh"

"$ZEROD" --list-fault-points | grep -qx 'migrate.switchover.done' ||
  fail "zerod has no fault point migrate.switchover.done: build with -DZERO_FAULT_INJECTION=ON"
two_nodes
ticking_vm

SLOW=',"bandwidth":4194304'

# in_send: waits until the source's operation MOP sends (its step), 60 s at most
in_send() {
  node A
  for _ in $(seq 1 600); do
    api GET "/v1/operations/$MOP"
    [ "$(jbody .status)" = running ] || fail "the migration ended before it sent: $(cat "$BODY")"
    [ "$(jbody .step)" = send ] && [ "$(jbody '.progress.ram_transferred_bytes // 0')" -gt 0 ] && return 0
    sleep 0.1
  done
  fail "the migration never sent: $(cat "$BODY")"
}

# failed_at_a REASON_RE: the operation failed with that reason, mv runs on at A with its NIC and
# files, and the guest goes on (a new tick after the failure)
failed_at_a() {
  node A
  wait_op "$MOP" failed
  jbody .error.message | grep -Eq "$1" || fail "the migration failed for another reason: $(cat "$BODY")"
  log "failed as it should: $(jbody .error.code): $(jbody .error.message)"
  expect 200 GET /v1/instances/mv
  [ "$(jbody .state)" = running ] && [ "$(jbody '.nics[0].mac')" = "$mac" ] || fail "mv on A after the failure: $(cat "$BODY")"
  ticks_after "$(last_tick)" || fail "the guest does not run on A after the failure"
}

# 1. DELETE of the operation cancels it
migrate_to B mv "$SLOW"
in_send
node A
expect 202 DELETE "/v1/operations/$MOP"
failed_at_a 'cancel'
nothing_of B mv

# 2. the target node dies mid-migration (zerod and its QEMU, as a power cut takes them)
migrate_to B mv "$SLOW"
in_send
crash_node B
pkill -9 -f "qemu-system.*$T/b/run" || fail "no QEMU of B to kill"
failed_at_a '.'
start_node B
# B's next zerod finds its half unfinished: undone, nothing left
gone_from B mv

# 3. the link breaks mid-migration: the source gives up at its deadline
migrate_to B mv "$SLOW,\"timeout_s\":8"
in_send
ip -n "$NS_A" link set mga down
failed_at_a '.'
ip -n "$NS_A" link set mga up
# B's QEMU lost its source: its half undoes itself (at its QEMU's exit or its own deadline)
gone_from B mv

# 4. the source's zerod dies right after the switchover: the instance is B's, A forgets it
migrate_crashing_source mv
runs_on B mv
start_node A
gone_from A mv
log "the source's crash after the switchover: mv is B's, A forgot it"

node B
act DELETE "/v1/instances/mv?force=true"
act DELETE /v1/volumes/data1
stop_node A
stop_node B
log "done"

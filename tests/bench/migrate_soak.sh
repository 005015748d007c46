#!/usr/bin/env bash
# migrate_soak [ROUNDS]: guests lost by live migration, by hand (docs/benchmarks.md, "Guests
# lost"). it_migrate_fail's case 4 over and over on one VM (migrate_lib.sh's ticking_vm): A -> B
# with A's zerod killed at migrate.switchover.done, the guest must tick on B; A's next zerod
# forgets it; B -> A plainly, the guest must tick on A. ROUNDS (4 by default) of the two. A guest
# that stops ticking fails it, its console's end printed and the whole console kept in
# $T/console-fail (KEEP=1 keeps $T). Run as bench_migrate is (its header has the variables):
#
#   sudo env ZERO_BUILD_DIR=build ... bash tests/bench/migrate_soak.sh 4
#
# QEMU 7.2 under TCG lost guests this way at about one migration in five to ten, with or without
# zerod, until the vm plugin gave a TCG guest a RAM block that is not a multiple of 256 KiB
# (plugins/vm/cmdline.h, ZERO_VM_TCG_RAM_PAD_KIB; docs/architecture.md, "Live migration").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N=${1:-4}
. "$here/../integration/lib.sh"
. "$here/../integration/migrate_lib.sh"
"$ZEROD" --list-fault-points | grep -qx 'migrate.switchover.done' ||
  fail "zerod has no fault point migrate.switchover.done: build with -DZERO_FAULT_INJECTION=ON"
two_nodes
ticking_vm

ticks_on() { # ticks_on NODE: the guest ticks anew there within 30 s
  node "$1"
  local n
  for _ in $(seq 1 300); do
    api GET /v1/instances/mv/console
    n=$(tr -d '\r' <"$BODY" | grep -c "^TICK [0-9]* \[written on A\] $mac") || true
    [ "$n" -ge 3 ] && return 0
    sleep 0.1
  done
  cp "$BODY" "$T/console-fail"
  fail "the guest does not tick on $1: $(tail -c 600 "$BODY")"
}
for i in $(seq 1 "$N"); do
  migrate_crashing_source mv
  node B
  for _ in $(seq 1 300); do [ "$(inst mv state)" = running ] && break; sleep 0.2; done
  ticks_on B
  start_node A
  for _ in $(seq 1 300); do node A; api GET /v1/instances/mv; [ "$STATUS" = 404 ] && break; sleep 0.2; done
  nothing_of A mv
  migrate_to A mv ",\"token\":\"$A_TOKEN\""
  wait_op "$MOP"
  ticks_on A
  log "round $i: crash at switchover, B runs it; back on A"
done
node A
act DELETE "/v1/instances/mv?force=true"
log "done"

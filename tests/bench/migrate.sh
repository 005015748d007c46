#!/usr/bin/env bash
# bench_migrate [N]: live migrations of one idle 256 MiB VM (a root and a data volume, a NIC)
# between two zerods on this machine (tests/integration/migrate_lib.sh: two network namespaces,
# a veth pair, the volumes' directory shared), N times A <-> B (20 by default), then N plain QEMU
# migrations of the same guest (its kernel, initrd, command line and volumes: qemu_migrate_plain.py,
# QEMU's built-in virtio-blk on the files). For each: QEMU's downtime and total time, and the gap
# a peer pinging every 5 ms sees. Prints p50 and p99 of each, side by side. Run by hand, as root,
# with the variables ctest gives the integration tests (docs/benchmarks.md):
#
#   sudo env ZERO_BUILD_DIR=build ZERO_SOURCE_DIR=. ZERO_PLUGIN_DIR=build/plugins \
#     ZEROD=build/agent/zerod ZERO_SHIM=build/shim/zero-shim ZEROCTL=build/cli/zeroctl \
#     ZERO_PINGER=build/tests/zero-test-pinger bash tests/bench/migrate.sh 20
#
# MIGRATE_EXTRA adds members to zerod's requests (e.g. ',"downtime_ms":10'). DIRTY=RATE runs the
# guest with zero-test-dirtier (tests/bench/dirtier.c, built beside the pinger; DIRTIER= another)
# dirtying RATE MiB/s of a 64 MiB region (DIRTY_MIB) and checking every page it wrote: a lost
# page fails the run. PLAIN=0 leaves out plain QEMU.
#
# "downtime" is QEMU's figure (the source's query-migrate); "pause" the guest's, from the source's
# STOP to the target's RESUME in QEMU's own event timestamps (zerod: its nodes' debug logs;
# plain: the script's QMP). A target that holds the guest until its card took the volumes (plugin
# ABI 4.9) resumes it after the source's QEMU completed: QEMU's downtime leaves that wait out, the
# pause does not. zerod's pause is broken down from the same stamps (migrate-continue taken, each
# side's "completed").
#
# The peer pings every 5 ms through each whole migration (from before the request to after the
# target runs the guest): the longest gap it sees is the guest's, on both sides alike.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N=${1:-20}
. "$here/../integration/lib.sh"
. "$here/../integration/migrate_lib.sh"

two_nodes
image=bb
# shellcheck disable=SC2016 # expanded in the guest
cmd='mkdir -p /data && mount -t ext4 /dev/vdb /data || exit 1; echo READY; while :; do sleep 1; done'
if [ -n "${DIRTY:-}" ]; then
  # the same image with the dirtier in it, on both nodes
  dirtier=${DIRTIER:-$ZERO_BUILD_DIR/tests/zero-test-dirtier}
  [ -x "$dirtier" ] || fail "no dirtier at $dirtier (build the target zero-test-dirtier)"
  cp -a "$T/img" "$T/imgd"
  cp "$dirtier" "$T/imgd/rootfs/bin/zero-test-dirtier"
  for n in A B; do
    node "$n"
    act POST /v1/images "{\"name\":\"bbd\",\"source\":\"$T/imgd/rootfs\",\"kernel\":\"$T/imgd/vmlinuz\",\"initrd\":\"$T/imgd/initrd.img\"}"
  done
  image=bbd
  cmd="mkdir -p /data && mount -t ext4 /dev/vdb /data || exit 1; /bin/zero-test-dirtier ${DIRTY_MIB:-64} $DIRTY & sleep 2; echo READY; wait; echo DIRTIER-EXIT \$?; while :; do sleep 1; done"
fi
node A
act POST /v1/volumes '{"name":"data1","size_bytes":67108864}'
expect 202 POST /v1/instances "{\"name\":\"mv\",\"mode\":\"vm\",\"image\":\"$image\",\"memory_mib\":256,\"volumes\":[{\"name\":\"data1\",\"path\":\"/data\"}],\"nics\":[{\"network\":\"net1\"}],\"command\":[\"/bin/sh\",\"-c\",$(jq -Rn --arg c "$cmd" '$c')]}"
wait_op "$(jbody .id)"
ip=$(inst mv 'nics[0].ip')
wait_console mv READY 90
# this run's QEMU (another test's guest may be called mv too)
qemu_pid=$(pgrep -f "qemu-system.*guest=mv.*$T/" | head -1)
[ -n "$qemu_pid" ] || fail "no QEMU of mv under $T"
tr '\0' '\n' <"/proc/$qemu_pid/cmdline" | sed -n '/^-append$/{n;p}' >"$T/append"

results=$T/results
: >"$results"

# qmp_stamps FROM TO: QEMU's own times of the last migration in the nodes' debug logs (the vm
# plugin logs each QMP event with QEMU's timestamp), in ms from the source's STOP: the guest's
# pause (to the target's RESUME), migrate-continue taken (the source's "device"), the source's
# "completed", the target's "completed" (it has it all; a held target runs it once its card took
# the volumes)
qmp_stamps() {
  local f=$T/${1,,}/zerod.log t=$T/${2,,}/zerod.log
  python3 - "$f" "$t" <<'PY'
import re, sys
def last(path, pat):
    v = None
    for l in open(path, errors='replace'):
        m = re.search(r'mv: vm: QMP event ' + pat + r' at ([0-9.]+)', l)
        if m: v = float(m.group(1))
    return v
stop = last(sys.argv[1], 'STOP')
pts = (last(sys.argv[2], 'RESUME'), last(sys.argv[1], 'MIGRATION device'), last(sys.argv[1], 'MIGRATION completed'),
       last(sys.argv[2], 'MIGRATION completed'))
print(' '.join('-' if stop is None or p is None else f'{(p - stop) * 1000:.1f}' for p in pts))
PY
}
to=B
for i in $(seq 1 "$N"); do
  node "$([ "$to" = B ] && echo A || echo B)"
  nsenter --net="/run/netns/$NS_P" "$ZERO_PINGER" "$ip" 5 >"$T/ping" 2>&1 &
  pinger=$!
  PINGER_PID=$pinger
  sleep 0.2
  if [ "$to" = B ]; then migrate_to B mv "${MIGRATE_EXTRA:-}"; else migrate_to A mv ",\"token\":\"$A_TOKEN\"${MIGRATE_EXTRA:-}"; fi
  wait_op "$MOP"
  sleep 0.5
  kill -TERM "$pinger" && wait "$pinger"
  expect 200 GET "/v1/operations/$MOP"
  # zerod downtime total first_ms gap_ms lost
  # ... and the source's steps in the pause: release, handover (the target's take), switchover
  echo "zerod $(jbody .result.downtime_ms) $(jbody .result.total_ms) $(awk '{print $10, $8, $6}' "$T/ping" 2>/dev/null || echo '- - -')" \
    "$(jbody '[.steps[] | select(.step == "release" or .step == "handover" or .step == "switchover") | .duration_us / 1000 | floor] | map(tostring) | join(" ")')" \
    "$(qmp_stamps "$([ "$to" = B ] && echo A || echo B)" "$to")" >>"$results"
  log "zerod $i: $(tail -1 "$results")"
  node "$to"
  [ "$(inst mv state)" = running ] || fail "mv is not running on $to: $(cat "$BODY")"
  api GET /v1/instances/mv/console
  ! grep -q 'DIRTIER LOST\|DIRTIER-EXIT' "$BODY" || fail "the dirtier stopped on $to: $(grep DIRTIER "$BODY" | tail -3)"
  to=$([ "$to" = B ] && echo A || echo B)
done

if [ -n "${DIRTY:-}" ]; then
  wait_console mv 'DIRTIER [0-9]* MiB/s' 30 # every 10 s
  log "the guest's dirtier: $(grep -a 'DIRTIER [0-9]* MiB/s' "$BODY" | tail -1 | tr -d '\r')"
fi

# The same guest under plain QEMU: its volumes copied once the instance is stopped (PLAIN=0: not).
node "$([ "$to" = B ] && echo A || echo B)"
if [ "${PLAIN:-1}" != 0 ]; then
  act POST /v1/instances/mv/stop '{"force":true}'
  mkdir -p "$T/plain"
  # data1 is the volume of 64 MiB; the root one is a raw copy of the image or a qcow2 over it.
  data= root=
  for f in "$T"/volumes/*; do
    if [ "$(stat -c %s "$f")" = 67108864 ]; then data=$f; else root=$f; fi
  done
  [ -n "$data" ] && [ -n "$root" ] || fail "cannot tell the root volume from the data volume: $(ls -l "$T/volumes")"
  if [ "$(qemu-img info --output=json "$root" | jq -r .format)" = qcow2 ]; then
    cp "$(qemu-img info --output=json "$root" | jq -r '.["backing-filename"]')" "$T/plain/base.ext4"
    cp "$root" "$T/plain/root.qcow2"
    qemu-img rebase -u -b "$T/plain/base.ext4" -F raw "$T/plain/root.qcow2"
  else
    cp "$root" "$T/plain/base.ext4"
    qemu-img create -q -f qcow2 -b "$T/plain/base.ext4" -F raw "$T/plain/root.qcow2"
  fi
  cp "$data" "$T/plain/data.raw"
  cp "$T/a/state/images/bb/vmlinuz" "$T/a/state/images/bb/initrd.img" "$T/append" "$T/plain/"
  # PLAIN_DIR=DIR keeps a copy of the plain guest's files there, for qemu_migrate_plain.py by hand
  if [ -n "${PLAIN_DIR:-}" ]; then mkdir -p "$PLAIN_DIR" && cp -a "$T/plain/." "$PLAIN_DIR/"; fi
  PAUSE_S=${PLAIN_PAUSE_S:-0} python3 "$here/../integration/qemu_migrate_plain.py" "$T/plain" "$N" pause >"$T/plain.log" 2>&1 ||
    fail "plain QEMU failed: $(tail -5 "$T/plain.log")"
  # "a->b: completed downtime D total T; sent S received R lost L gap_ms G first_ms F; ..."
  sed -n 's/^[ab]->[ab]: completed downtime \([0-9]*\) total \([0-9]*\); sent [0-9]* received [0-9]* lost \([0-9]*\) gap_ms \([0-9.]*\) first_ms \([0-9.-]*\); pause_ms \([0-9.-]*\);.*/plain \1 \2 \5 \4 \3 - - - \6/p' \
    "$T/plain.log" >>"$results"
fi

python3 - "$results" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float('nan')
print(f"{'':8} {'n':>3} {'downtime p50/p99 ms':>20} {'pause p50/p99 ms':>18} {'total p50/p99 ms':>18} {'ping gap p50/p99 ms':>20} {'lost p50/p99':>13}")
for who in ('zerod', 'plain'):
    r = [x for x in rows if x[0] == who and x[1] != '-']
    col = lambda i: [float(x[i]) for x in r if len(x) > i and x[i] not in ('-', '')]
    gap = [max(float(x[3]), float(x[4])) for x in r if x[3] != '-']
    print(f"{who:8} {len(r):>3} {pct(col(1),50):>9.0f}/{pct(col(1),99):<10.0f} {pct(col(9),50):>8.0f}/{pct(col(9),99):<9.0f}"
          f" {pct(col(2),50):>8.0f}/{pct(col(2),99):<9.0f}"
          f" {pct(gap,50):>9.1f}/{pct(gap,99):<10.1f} {pct(col(5),50):>6.0f}/{pct(col(5),99):<6.0f}")
r = [x for x in rows if x[0] == 'zerod' and len(x) >= 9]
if r:
    print('zerod, its steps: ' + ', '.join(f"{name} p50/p99 {pct([float(x[i]) for x in r], 50):.0f}/{pct([float(x[i]) for x in r], 99):.0f} ms"
                                            for i, name in ((6, 'release'), (7, 'handover'), (8, 'switchover'))))
r = [x for x in rows if x[0] == 'zerod' and len(x) >= 13]
if r:
    def qs(i):
        v = [float(x[i]) for x in r if x[i] != '-']
        return f"{pct(v, 50):.0f}/{pct(v, 99):.0f}" if v else '-'
    print(f"zerod, QEMU's stamps from the source's STOP, p50/p99 ms: the target's RESUME (the guest's pause) {qs(9)}, "
          f"migrate-continue taken {qs(10)}, the source completed {qs(11)}, the target completed {qs(12)}")
EOF
node A
api DELETE "/v1/instances/mv?force=true" >/dev/null || true
node B
api DELETE "/v1/instances/mv?force=true" >/dev/null || true

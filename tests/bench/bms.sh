#!/usr/bin/env bash
# bench_bms [N]: the hand-over of the lab's host to a bms tenant and its take-back, N times (10 by
# default), in one lab (deploy/lab up, TCG): for each, the API call (POST /v1/instances, mode bms,
# the unified image) to the tenant's marker on the host's serial console, and the stop through
# the card (POST /v1/instances/NAME/stop on its operator socket) to zerod's first answer over the
# orchestrator's address. Prints each run and the medians, against the target (5 s each, issue 14).
# The tenant's command prints its marker first. Run by hand, as root, with the variables ctest
# gives the integration tests (docs/benchmarks.md):
#
#   sudo env ZERO_BUILD_DIR=build ZERO_SOURCE_DIR=. ZERO_PLUGIN_DIR=build/plugins \
#     ZEROD=build/agent/zerod ZERO_SHIM=build/shim/zero-shim ZEROCTL=build/cli/zeroctl \
#     bash tests/bench/bms.sh 10
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N=${1:-10}
# shellcheck source=tests/integration/lib.sh
. "$here/../integration/lib.sh"
# shellcheck source=tests/lab/lib.sh
. "$here/../lab/lib.sh"

"$ZERO_SOURCE_DIR/deploy/images/build-busybox-image" "$T/bb" >"$T/bb.log" 2>&1 ||
  fail "build-busybox-image failed: $(tail -n 20 "$T/bb.log")"
lab_up
zeroctl image import bbk "$T/bb/rootfs" --kernel "$T/bb/vmlinuz" --initrd "$T/bb/initrd.img" >/dev/null ||
  fail "zeroctl image import failed"

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
: >"$T/up.ms"
: >"$T/back.ms"
for i in $(seq 1 "$N"); do
  mark=bench-$i-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
  body=$(jq -nc --arg m "$mark" '{name: "metal", mode: "bms", image: "bbk", command: ["/bin/sh", "-c", ("echo marker " + $m + "; while :; do sleep 1; done")]}')
  t0=$(now_ms)
  expect 202 POST /v1/instances "$body"
  up= ho=
  for _ in $(seq 1 3000); do
    # The phases: zerod's part (the 202 to the card holding the host for the tenant), then the
    # kexec and the tenant's boot to its marker.
    if [ -z "$ho" ] && op GET /v1/host/tenant | jq -e '.tenant.state == "running"' >/dev/null 2>&1; then
      ho=$(($(now_ms) - t0))
    fi
    if host_console 8000 | grep -q "^marker $mark"; then
      up=$(($(now_ms) - t0))
      break
    fi
    sleep 0.05
  done
  [ -n "$up" ] || fail "run $i: the tenant's marker never showed"
  t0=$(now_ms)
  op POST /v1/instances/metal/stop '{"timeout_s": 60}' >"$T/stop.json"
  off=$(($(now_ms) - t0)) # the tenant powered off and the card reset the host
  jq -e '.exit_code == 143' "$T/stop.json" >/dev/null || fail "run $i: the stop: $(cat "$T/stop.json")"
  zerod_ready_after "$t0" 240
  back=$READY_MS
  for _ in $(seq 1 600); do
    api GET /v1/instances/metal
    [ "$STATUS" = 200 ] && [ "$(jbody .state)" = stopped ] && break
    sleep 0.1
  done
  [ "$(jbody .state)" = stopped ] || fail "run $i: metal is $(jbody .state) after the take-back"
  expect 202 DELETE /v1/instances/metal
  wait_op "$(jbody .id)"
  echo "$up" >>"$T/up.ms"
  echo "$back" >>"$T/back.ms"
  log "run $i: API call to the tenant's marker $up ms (the card holds the host for the tenant at ${ho:-?} ms); stop to zerod ready $back ms (the tenant off and the host reset at $off ms; the host's boot: $(host_console 30000 | grep -E 'zero-host: (state volume .* on|zerod started)' | tail -n 2 | sed 's/zero-host: //' | tr '\n' ' ')) (load $(cut -d' ' -f1 /proc/loadavg))"
done
up_med=$(median <"$T/up.ms")
back_med=$(median <"$T/back.ms")
echo "bench_bms: $N runs, TCG, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  API call to the tenant's marker: median $up_med ms (min $(sort -n "$T/up.ms" | head -n1), max $(sort -n "$T/up.ms" | tail -n1)); target <= 5000 ms"
echo "  stop to zerod ready:             median $back_med ms (min $(sort -n "$T/back.ms" | head -n1), max $(sort -n "$T/back.ms" | tail -n1)); target <= 5000 ms"
lab_down_clean

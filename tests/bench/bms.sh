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

# The host's serial console, each line stamped with the wall clock (µs) as it comes: the phases.
console_stamps() {
  tail -n 0 -F "$LAB/run/host/console.log" 2>/dev/null | while IFS= read -r l; do
    printf '%s %s\n' "${EPOCHREALTIME/./}" "${l%$'\r'}"
  done >>"$T/console.stamped"
}
console_stamps &
# at_line REGEX: the wall clock (ms) of the last stamped line that matches, and the line.
at_line() { grep -E "^[0-9]+ $1" "$T/console.stamped" | tail -n 1; }
# ms_of STAMPED_LINE: its stamp in ms; since LINE T0_MS: that less T0_MS ("?" with no line);
# up_ms LINE: the guest's uptime it ends with ("[U s]", or the marker's last word), in ms.
ms_of() { echo $((${1%% *} / 1000)); }
since() { if [ -n "$1" ]; then echo $(($(ms_of "$1") - $2)); else echo '?'; fi; }
up_ms() { awk '{ v = $NF; gsub(/[^0-9.]/, "", v); if (v == "") v = $(NF - 1); gsub(/[^0-9.]/, "", v); printf "%d", v * 1000 }' <<<"$1"; }

# The host QEMU's CPU time (ms, all its threads): under TCG mostly its vCPU's work, the part of a
# phase that the machine's load stretches (a vCPU that waits for a core is not counted); the
# card's own work and the guest's idle waits are not in it.
qemu_cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$(cat "$LAB/run/host/pid")/stat"; }

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
: >"$T/up.ms"
: >"$T/back.ms"
for i in $(seq 1 "$N"); do
  mark=bench-$i-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
  body=$(jq -nc --arg m "$mark" '{name: "metal", mode: "bms", image: "bbk", command: ["/bin/sh", "-c", ("read -r u _ </proc/uptime; echo marker " + $m + " $u; while :; do sleep 1; done")]}')
  c0=$(qemu_cpu_ms)
  t0=$(now_ms)
  expect 202 POST /v1/instances "$body"
  opid=$(jbody .id)
  up='' ho='' mline=''
  for _ in $(seq 1 3000); do
    # The phases: zerod's part (the 202 to the card holding the host for the tenant), then the
    # kexec and the tenant's boot to its marker (the stamped console's line: when it came).
    if [ -z "$ho" ] && op GET /v1/host/tenant | jq -e '.tenant.state == "running"' >/dev/null 2>&1; then
      ho=$(($(now_ms) - t0))
    fi
    mline=$(at_line "marker $mark") || true
    if [ -n "$mline" ]; then
      up=$(($(ms_of "$mline") - t0))
      break
    fi
    sleep 0.05
  done
  [ -n "$up" ] || fail "run $i: the tenant's marker never showed"
  up_cpu=$(($(qemu_cpu_ms) - c0))
  t_up=$t0
  c0=$(qemu_cpu_ms)
  t0=$(now_ms)
  op POST /v1/instances/metal/stop '{"timeout_s": 60}' >"$T/stop.json"
  off=$(($(now_ms) - t0)) # the tenant powered off and the card reset the host
  jq -e '.exit_code == 143' "$T/stop.json" >/dev/null || fail "run $i: the stop: $(cat "$T/stop.json")"
  zerod_ready_after "$t0" 240
  back=$READY_MS
  back_cpu=$(($(qemu_cpu_ms) - c0))
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
  echo "$up_cpu" >>"$T/up.cpu"
  echo "$back_cpu" >>"$T/back.cpu"
  # Where the time went: zerod's steps (the create's, from its operation: it ended after the
  # take-back), the kexec and the tenant's kernel (its uptime at the marker gives its first
  # instant), the host's boot (host-init's lines carry the host's uptime).
  api GET "/v1/operations/$opid"
  steps=$(jq -r '[.steps[] | select(.step | test("^(volumes|card_up|prepare|handover_load)$")) | "\(.step) \((.duration_us / 1000) | floor)"] | join(", ")' "$BODY")
  # Wall-clock stamps first: the guests' uptimes are approximate (a TSC calibrated while the vCPU
  # starved runs fast; after a kexec the tenant's clock may not start at 0).
  tk=$(($(ms_of "$mline") - $(up_ms "$mline") - t_up)) # the tenant kernel's first instant, by its uptime
  io=$(at_line '\[ *[0-9.]+\] I/O error, dev') mnt=$(at_line 'zero-init: root .* mounted')
  cfg=$(at_line 'zero-host: configuration from the card') zs=$(at_line 'zero-host: zerod started')
  hk='?'
  [ -z "$cfg" ] || hk=$(($(ms_of "$cfg") - $(up_ms "$cfg") - t0)) # the host kernel's first instant, by its uptime
  # The console's lines from the card's hold to the tenant's marker, in ms from the API call (the
  # old kernel's last words, the tenant's kernel and init: "quiet" leaves its errors and init's lines).
  awk -v t0="$t_up" -v from="$((t_up + ${ho:-0}))" -v to="$(ms_of "$mline")" \
    '{ ms = int($1 / 1000) } ms >= from && ms <= to { $1 = ""; printf "#     %6d ms %s\n", ms - t0, substr($0, 2) }' "$T/console.stamped" | tail -n 40
  log "run $i: API call to the tenant's marker $up ms (the host's QEMU on a CPU $up_cpu ms): zerod's steps ($steps ms), the card holds the host at ${ho:-?} ms, the tenant's disk probe (the cut state volume's I/O error) at $(since "$io" "$t_up") ms, its root mounted at $(since "$mnt" "$t_up") ms (its kernel started at $tk ms by its uptime); stop to zerod ready $back ms (the host's QEMU on a CPU $back_cpu ms): the tenant off and the host reset at $off ms, host-init's configuration step at $(since "$cfg" "$t0") ms, zerod started at $(since "$zs" "$t0") ms (the host's kernel started at $hk ms by its uptime) (load $(cut -d' ' -f1 /proc/loadavg))"
done
up_med=$(median <"$T/up.ms")
back_med=$(median <"$T/back.ms")
echo "bench_bms: $N runs, TCG, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  API call to the tenant's marker: median $up_med ms (min $(sort -n "$T/up.ms" | head -n1), max $(sort -n "$T/up.ms" | tail -n1)); target <= 5000 ms"
echo "  stop to zerod ready:             median $back_med ms (min $(sort -n "$T/back.ms" | head -n1), max $(sort -n "$T/back.ms" | tail -n1)); target <= 5000 ms"
echo "  the host's QEMU on a CPU meanwhile (its vCPU's work under TCG, which the load stretches): median $(median <"$T/up.cpu") ms to the marker, $(median <"$T/back.cpu") ms to zerod ready"
# The stamper first (its tail names the lab's directory: deploy/lab down would kill it as left over).
pkill -f -- "tail -n 0 -F $LAB/run/host/console.log" || true
lab_down_clean

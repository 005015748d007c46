#!/usr/bin/env bash
# zerod under deploy/zerod.service's hardening (its capability bounding set, no new privileges,
# its umask; tests/integration/unit_sandbox.sh) still does the agent's work: a container's
# whole life, the switch to a VM and back, and hot-plug into the VM, as it_container_lifecycle
# and it_switch test it. A capability the unit drops that something needs fails here.
set -euo pipefail
here=$(dirname "$0")
export ZEROD_WRAPPER="bash $here/unit_sandbox.sh"
. "$here/lib.sh"

start_zerod
bnd=$(awk '/^CapBnd/ {print $2}' "/proc/$ZEROD_PID/status")
want=$(sed -n 's/^CapabilityBoundingSet=//p' "$ZERO_SOURCE_DIR/deploy/zerod.service")
grep -q '^NoNewPrivs:.*1' "/proc/$ZEROD_PID/status" || fail "zerod runs without no_new_privs"
[ "$(printf '%o' "$(awk '/^Umask/ {print "0" $2}' "/proc/$ZEROD_PID/status")")" = 77 ] || fail "zerod's umask is not 0077"
log "zerod runs with CapBnd $bnd (the unit's $(echo "$want" | wc -w) capabilities), no_new_privs, umask 0077"
# The unit's set, as far as this machine has it (this sandbox lacks CAP_SYS_RESOURCE, say).
caps_of() { capsh --decode="$1" | sed 's/.*=//' | tr ',' '\n' | sort; }
ours=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
expected=$(comm -12 <(caps_of "$ours") <(echo "$want" | tr ' ' '\n' | sed 's/^CAP_//' | tr 'A-Z' 'a-z' | sed 's/^/cap_/' | sort))
[ "$(caps_of "$bnd")" = "$expected" ] || fail "CapBnd $bnd is not the unit's set: $want"
stop_zerod
trap - EXIT
# The card's daemon outlives zerod by design: it goes with the test's directory (lib.sh's cleanup
# would, but that trap is off: the two tests below have their own).
cleanup_and_next() {
  pkill -9 -f "$T" 2>/dev/null || true
  for _ in $(seq 1 50); do pgrep -f "$T" >/dev/null || break; sleep 0.1; done
  rm -rf "$T"
  [ -z "$NETNS" ] || ip netns del "$NETNS" 2>/dev/null || true
}
cleanup_and_next
bash "$here/container_lifecycle.sh"
bash "$here/switch.sh"
echo "# ok: the container lifecycle and the switches pass under the unit's hardening"

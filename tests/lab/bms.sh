#!/usr/bin/env bash
# bms in the lab (issue 14, the first "must show"): the whole host handed to a tenant and taken
# back, its root volume the same in every mode.
#   - the unified image (deploy/images/build-busybox-image, built here: its init finds the root
#     volume by serial) imported with its kernel and initramfs;
#   - a bms instance created: zerod presents its root volume, loads the image's kernel, the card
#     takes the host (the state volume cut, the management link down) and the host kexecs: the
#     command's marker appears on the host's serial console; the tenant writes a file on its root
#     volume, and finds neither the card's API nor the host's state volume;
#   - while it runs, the card answers for the node (its operator socket): GET /v1/node and
#     /v1/instances/metal say running, mode bms; its console is the host's;
#   - what the host's fw_cfg hands it, read by the tenant: the orchestrator's token only as its
#     SHA-256, refused as a bearer token at ZERO_URL while the tenant runs and after it;
#   - zeroctl stop at ZERO_URL, answered by the card: 202 with an operation (a second stop is 409
#     naming it), followed step by step: the ACPI button, the tenant powers off, the card resets
#     the host into its image with its state volume, zerod comes back and has that operation,
#     ended, and shows the instance stopped (exit code 143); the card's record says how it ended;
#   - the same root volume read by a container: the tenant's file is there;
#   - a tenant whose command ends (the image's init powers off): back, stopped with 0; a reset of
#     the host through the card under a tenant (its power off refused): back, stopped with 137;
#   - figures: create to the marker, stop to zerod's first answer.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"

# --- the unified image, with this tree's init ------------------------------------------------------
log "building the unified image (its kernel cached in $ZERO_IMAGE_CACHE)"
"$ZERO_SOURCE_DIR/deploy/images/build-busybox-image" "$T/bb" >"$T/bb.log" 2>&1 ||
  fail "build-busybox-image failed: $(tail -n 20 "$T/bb.log")"

lab_up
zeroctl image import bbk "$T/bb/rootfs" --kernel "$T/bb/vmlinuz" --initrd "$T/bb/initrd.img" >"$T/import.out" 2>&1 ||
  fail "zeroctl image import with the kernel failed: $(cat "$T/import.out")"
expect 200 GET /v1/node
jq -e '.plugins[] | select(.mode == "bms") | .available == true' "$BODY" >/dev/null ||
  fail "the lab's zerod does not offer bms: $(jq -c '.plugins' "$BODY")"
STATE_ID=$(op GET /v1/host | jq -r .state_volume)
[[ -n $STATE_ID && $STATE_ID != null ]] || fail "the card names no state volume"
STATE_SERIAL=${STATE_ID:0:20}

# --- the hand-over ------------------------------------------------------------------------------------
MARK=bms-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
# The tenant's command (busybox sh in the root volume): the file, then what it can reach, then the
# marker. The management NIC is the host's (its MAC is the card's); the state volume's disk is the
# one whose serial is the state volume's.
# shellcheck disable=SC2016 # the tenant's shell expands these
CMD='echo "written by '"$MARK"'" >/bms-file; sync
m=; for i in /sys/class/net/*; do [ "$(cat "$i/address")" = 52:54:00:00:0a:01 ] && m=${i##*/}; done
if [ -n "$m" ]; then ip addr add 10.0.2.15/24 dev "$m"; ip link set "$m" up; sleep 2
  if printf "GET /v1/card HTTP/1.0\r\n\r\n" | nc -w 3 10.0.2.100 80 | grep -q HTTP; then echo "card: reached"; else echo "card: unreachable"; fi
else echo "card: no management NIC"; fi
s=; for d in /sys/block/*; do [ "$(tr -d " " <"$d/serial" 2>/dev/null)" = '"$STATE_SERIAL"' ] && s=${d##*/}; done
if [ -z "$s" ]; then echo "state: no disk"; elif head -c 4096 "/dev/$s" 2>/dev/null | od -An -c | grep -q .; then echo "state: read"; else echo "state: unreadable"; fi
f=/sys/firmware/qemu_fw_cfg/by_name/opt/zero
if [ -d "$f" ]; then echo "fwcfg: $(ls "$f" | tr "\n" " ")"; [ -r "$f/token.sha256/raw" ] && echo "fwcfg-token $(cat "$f/token.sha256/raw")"; else echo "fwcfg: none"; fi
echo "marker '"$MARK"'"; trap "" TERM; while :; do sleep 1; done'
body=$(jq -nc --arg cmd "$CMD" '{name: "metal", mode: "bms", image: "bbk", command: ["/bin/sh", "-c", $cmd]}')
t0=$(now_ms)
expect 202 POST /v1/instances "$body"
log "metal created (202): the host goes to the tenant"
host_console_wait "^marker $MARK" 2400 || fail "the tenant's marker never showed on the host's console"
marker_ms=$(($(now_ms) - t0))
log "the tenant's marker on the host's console: $marker_ms ms after the create"
host_console 20000 >"$T/tenant.console"
grep -q '^card: unreachable' "$T/tenant.console" || fail "the tenant reached the card's API: $(grep '^card:' "$T/tenant.console")"
grep -q '^state: unreadable' "$T/tenant.console" || fail "the tenant read the host's state volume: $(grep '^state:' "$T/tenant.console")"
grep -q 'zero-init: root /dev/' "$T/tenant.console" || fail "the unified image's init did not mount the root volume"
# What the host was handed over fw_cfg is the tenant's to read: the orchestrator's token only as its
# SHA-256, which opens nothing (at ZERO_URL under the tenant, and after the take-back below).
grep -q '^fwcfg: .*token\.sha256' "$T/tenant.console" || fail "the tenant does not see the host's fw_cfg as expected: $(grep '^fwcfg' "$T/tenant.console")"
grep -q '^fwcfg: .* token ' "$T/tenant.console" && fail "the host's fw_cfg hands the tenant the orchestrator's token: $(grep '^fwcfg:' "$T/tenant.console")"
! grep -qF "$ZERO_TOKEN" "$T/tenant.console" || fail "the tenant read the orchestrator's token"
TENANT_TOKEN=$(sed -n 's/^fwcfg-token \([0-9a-f]\{64\}\)$/\1/p' "$T/tenant.console")
[[ -n $TENANT_TOKEN ]] || fail "the tenant found no token.sha256 in fw_cfg: $(grep '^fwcfg' "$T/tenant.console")"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ZERO_CACERT" -H "Authorization: Bearer $TENANT_TOKEN" "$ZERO_URL/v1/node") || code=000
[ "$code" = 401 ] || fail "the token the tenant read, at ZERO_URL under the tenant: HTTP $code"
log "the tenant reads the host's fw_cfg ($(sed -n 's/^fwcfg: //p' "$T/tenant.console")): no secret of the orchestrator's; what it finds is refused (401)"

# --- the card answers for the node --------------------------------------------------------------------
op GET /v1/node >"$T/node.json"
jq -e '.mode == "bms" and .instance.name == "metal" and .instance.state == "running" and .answered_by == "card"' \
  "$T/node.json" >/dev/null || fail "the card's GET /v1/node: $(cat "$T/node.json")"
op GET /v1/instances/metal >"$T/metal.json"
jq -e '.mode == "bms" and .state == "running"' "$T/metal.json" >/dev/null || fail "the card's GET /v1/instances/metal: $(cat "$T/metal.json")"
ROOT_ID=$(jq -r '.volumes[0]' "$T/metal.json")
op GET /v1/instances/metal/console | grep -q "^marker $MARK" || fail "the card's console of metal lacks the marker"
op GET /v1/instances/other >"$T/other.json"
jq -e '.error.code == "not_found"' "$T/other.json" >/dev/null || fail "the card answered for an instance that is not the tenant: $(cat "$T/other.json")"
op GET /v1/host/tenant | jq -e '.tenant.state == "running"' >/dev/null || fail "the card's tenant is not running"
# The orchestrator's address (ZERO_URL, the card's forward) answers too: the card, with zerod's
# certificate and the orchestrator's token; what it does not answer for is 503.
expect 200 GET /v1/node
jq -e '.mode == "bms" and .instance.name == "metal" and .answered_by == "card"' "$BODY" >/dev/null ||
  fail "GET /v1/node at ZERO_URL under the tenant: $(cat "$BODY")"
expect 200 GET /v1/instances/metal
jq -e '.mode == "bms" and .state == "running"' "$BODY" >/dev/null || fail "GET /v1/instances/metal at ZERO_URL: $(cat "$BODY")"
expect 503 GET /v1/volumes
jq -e '.error.code == "unavailable" and (.error.message | test("held by bms instance .metal."))' "$BODY" >/dev/null ||
  fail "GET /v1/volumes at ZERO_URL under the tenant: $(cat "$BODY")"
log "ZERO_URL under the tenant: the card answers GET /v1/node and /v1/instances/metal, 503 for the rest"
op GET /v1/presentations >"$T/pres.json"
jq -e --arg id "$ROOT_ID" '.presentations[] | select(.id == $id and .state == "presented")' "$T/pres.json" >/dev/null ||
  fail "the card does not present the tenant's root volume $ROOT_ID"

# --- the stop at ZERO_URL, answered by the card: the host taken back ----------------------------------
# zeroctl stop as an orchestrator asks it: the card answers 202 with an operation (zerod's shape,
# its Location), which zeroctl follows step by step until zerod is back and has it, ended.
t0=$(now_ms)
zeroctl stop metal --grace 60 >"$T/stop.out" 2>&1 &
STOP_PID=$!
for _ in $(seq 1 100); do
  grep -q '^stopping metal: the card takes the host back (operation [0-9a-f]\{32\})$' "$T/stop.out" && break
  sleep 0.1
done
STOP_OP=$(sed -n 's/^stopping metal: .*(operation \([0-9a-f]\{32\}\))$/\1/p' "$T/stop.out")
[[ -n $STOP_OP ]] || fail "zeroctl stop of metal at ZERO_URL: no operation from the card: $(cat "$T/stop.out")"
# While it runs: the card answers for its operation, and a second stop is refused naming it.
expect 200 GET "/v1/operations/$STOP_OP"
jq -e '.kind == "stop" and .status == "running" and .answered_by == "card" and (.step == "power_off" or .step == "take_back")' \
  "$BODY" >/dev/null || fail "GET /v1/operations/$STOP_OP at ZERO_URL under the tenant: $(cat "$BODY")"
expect 409 POST /v1/instances/metal/stop '{}'
jq -e --arg id "$STOP_OP" '.error.code == "conflict" and (.error.message | contains($id))' "$BODY" >/dev/null ||
  fail "a second stop of metal at ZERO_URL: $(cat "$BODY")"
wait "$STOP_PID" || fail "zeroctl stop of metal at ZERO_URL failed: $(cat "$T/stop.out")"
stop_ms=$(($(now_ms) - t0))
sed 's/^/#   /' "$T/stop.out"
for line in '^    power_off ' '^    take_back ' '^    host taken back: zerod answers again$' '^    host_boot ' "^stopped metal (operation $STOP_OP)\$"; do
  grep -q "$line" "$T/stop.out" || fail "zeroctl stop's output lacks '$line': $(cat "$T/stop.out")"
done
# zerod, back, has the operation: the stop, ended, with the card's steps.
expect 200 GET "/v1/operations/$STOP_OP"
jq -e '.kind == "stop" and .status == "succeeded" and .instance == "metal" and .answered_by == null and
  ([.steps[].step] == ["power_off", "take_back", "host_boot"])' "$BODY" >/dev/null ||
  fail "zerod's operation $STOP_OP after the take-back: $(cat "$BODY")"
zerod_ready_after "$t0" 240
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ZERO_CACERT" -H "Authorization: Bearer $TENANT_TOKEN" "$ZERO_URL/v1/node") || code=000
[ "$code" = 401 ] || fail "the token the tenant read, at ZERO_URL after the take-back (zerod's): HTTP $code"
log "zeroctl stop at ZERO_URL (the card's operation $STOP_OP, followed to zerod's end; the tenant ignores SIGTERM: 3 s of it are the image's init's wait for its command): $stop_ms ms"
log "the host's boot after the take-back (its uptime): $(host_console 30000 | grep -E 'zero-host: (state volume .* on|zerod started)' | tail -n 2 | tr '\n' ' ')"
state=
for _ in $(seq 1 600); do
  api GET /v1/instances/metal
  state=$(jbody .state)
  [ "$STATUS" = 200 ] && [ "$state" = stopped ] && break
  sleep 0.1
done
[ "$state" = stopped ] || fail "zerod shows metal $state after the take-back: $(cat "$BODY")"
[ "$(jbody .exit_code)" = 143 ] || fail "metal's exit code is not 143 (stopped by the card): $(cat "$BODY")"
[ "$(jbody .mode)" = bms ] || fail "metal is no longer bms: $(cat "$BODY")"
op GET /v1/host/tenant >"$T/tenant.json"
jq -e '.tenant == null and .last.name == "metal" and .last.exit_code == 143' "$T/tenant.json" >/dev/null ||
  fail "the card's record of the tenant: $(cat "$T/tenant.json")"
op GET /v1/node >"$T/node2.json"
jq -e '.error.code == "wrong_state"' "$T/node2.json" >/dev/null || fail "the card still answers for the node: $(cat "$T/node2.json")"
expect 200 GET /v1/node
for _ in $(seq 1 300); do
  presented "$ROOT_ID" || break
  sleep 0.1
done
presented "$ROOT_ID" && fail "the card still presents metal's root volume after its end"
log "zerod is back: metal stopped (exit code 143), the card presents its root volume no more"

# --- the same root volume, as a container's ------------------------------------------------------------
expect 202 DELETE "/v1/instances/metal?delete_volumes=false"
wait_op "$(jbody .id)"
expect 202 POST /v1/instances '{"name": "reader", "image": "bbk", "root_volume": "metal-root", "command": ["/bin/cat", "/bms-file"]}'
READER_OP=$(jbody .id)
wait_console reader "written by $MARK" 60
log "a container on metal's root volume reads the tenant's file"

# --- the other ends of a tenant: its own power-off (0), a reset through the card (137) -------------
# bms_run NAME COMMAND: a bms instance created, its marker waited for on the host's console.
bms_run() {
  local mark
  mark=$1-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
  expect 202 POST /v1/instances "$(jq -nc --arg n "$1" --arg c "echo marker $mark; $2" '{name: $n, mode: "bms", image: "bbk", command: ["/bin/sh", "-c", $c]}')"
  for _ in $(seq 1 2400); do
    host_console 8000 | grep -q "^marker $mark" && return 0
    sleep 0.1
  done
  fail "$1: the tenant's marker never showed on the host's console"
}
# back NAME CODE: zerod answers again and shows NAME stopped with CODE; the card's record agrees.
back() {
  zerod_ready_after "$(now_ms)" 240
  for _ in $(seq 1 600); do
    api GET "/v1/instances/$1"
    [ "$STATUS" = 200 ] && [ "$(jbody .state)" = stopped ] && break
    sleep 0.1
  done
  [[ $(jbody .state) == stopped && $(jbody .exit_code) == "$2" ]] ||
    fail "$1 after the take-back: $(jbody .state), exit code $(jbody .exit_code), not stopped with $2"
  op GET /v1/host/tenant | jq -e --arg n "$1" --argjson c "$2" '.tenant == null and .last.name == $n and .last.exit_code == $c' >/dev/null ||
    fail "the card's record of $1: $(op GET /v1/host/tenant)"
}
# The node to itself again: the reader goes, once its create has ended (its line on the console
# can come before the create's last step: a 409 "create is in progress" at a load of 18).
wait_op "$READER_OP"
expect 202 DELETE /v1/instances/reader
wait_op "$(jbody .id)"
# Its command ends: the unified image's init powers the machine off, the card takes it back (0).
bms_run own 'sleep 2; exit 0'
back own 0
log "a tenant that powers off by itself: the host back, own stopped with exit code 0"
# A reset asked of the card while the tenant runs: taken back by force (137), never the tenant's boot.
bms_run reset 'while :; do sleep 1; done'
op POST /v1/host/power '{"action": "off"}' >"$T/off.json"
jq -e '.error.code == "wrong_state"' "$T/off.json" >/dev/null || fail "the host's power off under a tenant: $(cat "$T/off.json")"
op POST /v1/host/power '{"action": "reset"}' >"$T/reset.json"
jq -e '.exit_code == 137' "$T/reset.json" >/dev/null || fail "the card's reset under a tenant: $(cat "$T/reset.json")"
back reset 137
log "under a tenant the card refuses to power the host off; a reset through it: the host back, reset stopped with exit code 137"

log "figures: create to the tenant's marker $marker_ms ms; stop to zerod ready $stop_ms ms (TCG)"
log "loop devices before the lab's down: $(losetup -a 2>/dev/null | grep -F "$LAB" | tr '\n' ' ')"
lab_down_clean
echo "PASS: bms hand-over and take-back in the lab (marker $marker_ms ms, back $stop_ms ms)"

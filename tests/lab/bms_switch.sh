#!/usr/bin/env bash
# A container switched to bms and back, in place (issue 14 item 6, the second "must show"):
#   - the unified image (built here, as lab_bms does) imported with its kernel; a network on the
#     card and a peer on it (a namespace of the test's own, a veth on the network's bridge in the
#     lab's namespace);
#   - a container "sw" with a NIC on that network and a root volume from the image: its command
#     appends its mode to /modes on the root volume and prints the history, its MAC and address
#     (the interface that holds the network's address); the peer pings it;
#   - zeroctl switch sw bms beside another running container ("holder"): refused, naming it and
#     --evict stop;
#   - zeroctl switch sw bms --evict stop: holder stopped first, then the switch's own steps stop the
#     container, take its card part down,
#     record the mode, present the root volume and NIC to the host, load the image's kernel and
#     hand the host over; zeroctl shows each step, then that the host is the tenant's and the card
#     answers, and waits; the tenant prints "MODES container,bms" with the same MAC and address on
#     the host's console, the peer pings the same address, the card answers for sw (mode bms);
#   - the switch back, asked of the card (zerod is gone): zeroctl switch sw container at ZERO_URL,
#     where the card answers for the node while the tenant runs (202, an operation zeroctl follows
#     step by step; its refusals asked on its operator socket); the card takes the host back, zerod comes
#     back, ends the hand-over (sw stopped) and switches sw to a container, which runs with the
#     same id, MAC and address, "MODES container,bms,container", and the peer pings it;
#   - figures: the switch to the tenant's line, and the card's switch back to the container's.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"

ping_peer() { # ping_peer IP WHAT: three pings from the peer's namespace, one answer needed
  nsenter --net="$T/peer.ns" busybox ping -c 3 -W 3 "$1" >"$T/ping.out" 2>&1 ||
    fail "the peer cannot ping $1 ($2): $(cat "$T/ping.out")"
  log "the peer pings $1 ($2): $(grep -o '[0-9]* packets received' "$T/ping.out")"
}

# --- the unified image, with this tree's init ------------------------------------------------------
log "building the unified image (its kernel cached in $ZERO_IMAGE_CACHE)"
"$ZERO_SOURCE_DIR/deploy/images/build-busybox-image" "$T/bb" >"$T/bb.log" 2>&1 ||
  fail "build-busybox-image failed: $(tail -n 20 "$T/bb.log")"

lab_up
zeroctl image import bbk "$T/bb/rootfs" --kernel "$T/bb/vmlinuz" --initrd "$T/bb/initrd.img" >"$T/import.out" 2>&1 ||
  fail "zeroctl image import with the kernel failed: $(cat "$T/import.out")"
zeroctl network create net0 10.77.0.0/24 >/dev/null || fail "zeroctl network create failed"
expect 200 GET /v1/networks/net0
BRIDGE=$(jbody .bridge)

# The peer: a namespace of the test's own (a sleep in it, for `ip link set netns PID`), one end of
# a veth in it, the other on the card's bridge in the lab's namespace.
PEER_PID=
ZEROCTL_PID=
kill_peer() {
  [ -z "$PEER_PID" ] || kill -9 "$PEER_PID" 2>/dev/null
  [ -z "$ZEROCTL_PID" ] || kill -9 "$ZEROCTL_PID" 2>/dev/null
}
LAB_CLEANUP_EXTRA=kill_peer
touch "$T/peer.ns"
unshare --net="$T/peer.ns" true || fail "cannot make the peer's namespace"
nsenter --net="$T/peer.ns" sleep 3600 &
PEER_PID=$!
nsenter --net="$LAB/netns" ip link add lpeer0 type veth peer name lpeer1 || fail "cannot make the peer's veth"
nsenter --net="$LAB/netns" ip link set lpeer1 netns "$PEER_PID" || fail "cannot move the peer's end"
nsenter --net="$LAB/netns" ip link set lpeer0 master "$BRIDGE" up || fail "cannot put the peer on $BRIDGE"
nsenter --net="$T/peer.ns" sh -c 'ip link set lo up && ip addr add 10.77.0.200/24 dev lpeer1 && ip link set lpeer1 up' ||
  fail "cannot configure the peer"

# --- the container ---------------------------------------------------------------------------------
# The same command in both modes: a bms tenant's kernel command line has the unified image's
# zero.root= (a container's /proc/cmdline is the host's, without it).
CMD=$(
  cat <<'EOF'
trap "exit 0" TERM
if grep -q zero.root= /proc/cmdline; then m=bms; else m=container; fi
echo "$m" >>/modes; sync
i=$(ip -o -4 addr | awk '/ 10\.77\.0\./ {print $2; exit}')
echo "MODES $(tr '\n' , </modes) MAC $(cat "/sys/class/net/$i/address") IP $(ip -o -4 addr show dev "$i" | awk '{print $4}')"
while :; do sleep 1; done
EOF
)
expect 202 POST /v1/instances "$(jq -nc --arg c "$CMD" '{name: "sw", image: "bbk", nics: [{network: "net0"}], command: ["/bin/sh", "-c", $c]}')"
wait_op "$(jbody .id)"
expect 200 GET /v1/instances/sw
ID=$(jbody .id)
CREATED=$(jbody .created_at)
MAC=$(jbody '.nics[0].mac')
IP=$(jbody '.nics[0].ip')
wait_console sw "MODES container, MAC $MAC IP $IP/24" 60
ping_peer "$IP" container
log "sw runs as a container with $MAC $IP"

# --- to bms: refused while another instance holds the node, unless --evict stop --------------------
expect 202 POST /v1/instances '{"name": "holder", "image": "bbk", "command": ["/bin/sh", "-c", "while :; do sleep 1; done"]}'
wait_op "$(jbody .id)"
if zeroctl switch sw bms >"$T/busy.out" 2>&1; then fail "zeroctl switch sw bms beside a running container was not refused"; fi
grep -q "the node is held by 'holder' (container, running): bms instance 'sw' needs the node to itself (--evict stop stops them first)" "$T/busy.out" ||
  fail "zeroctl switch sw bms on a busy node: $(cat "$T/busy.out")"
expect 200 GET /v1/instances/sw
[ "$(jbody .mode).$(jbody .state)" = container.running ] || fail "a refused switch changed sw: $(cat "$BODY")"
log "zeroctl switch sw bms beside 'holder': refused, naming it and --evict stop"

# --- to bms: zeroctl shows the steps, the host's absence, and waits ----------------------------------
t0=$(now_ms)
zeroctl --timeout 900 switch sw bms --evict stop >"$T/to_bms.out" 2>&1 &
ZEROCTL_PID=$!
host_console_wait "^MODES container,bms, MAC $MAC IP $IP/24" 3000 ||
  fail "the tenant's line never showed on the host's console: $(host_console 2000 | tail -n 5)"
seen=$(($(now_ms) - t0))
log "sw as a bms tenant printed its history with the same MAC and address: $seen ms after the switch"
ping_peer "$IP" bms
op GET /v1/instances/sw >"$T/card_sw.json"
jq -e --arg id "$ID" '.mode == "bms" and .state == "running" and .id == $id and .answered_by == "card"' "$T/card_sw.json" >/dev/null ||
  fail "the card's GET /v1/instances/sw: $(cat "$T/card_sw.json")"
# zeroctl has shown the steps up to the hand-over and waits, saying where the host is.
for _ in $(seq 1 600); do
  grep -q '^    host handed to the tenant; the card answers$' "$T/to_bms.out" && break
  sleep 0.1
done
grep -q '^    host handed to the tenant; the card answers$' "$T/to_bms.out" ||
  fail "zeroctl switch did not say the host went to the tenant: $(cat "$T/to_bms.out")"

# --- back to a container: asked of the card, carried on by zerod once it is back -----------------------
# Refused, nothing changed: no mode, bms itself, another instance than the tenant.
op POST /v1/instances/sw/switch '{}' | jq -e '.error.code == "invalid"' >/dev/null || fail "the card's switch without a mode was not refused"
op POST /v1/instances/sw/switch '{"mode": "bms"}' | jq -e '.error.code == "wrong_state"' >/dev/null ||
  fail "the card's switch to bms was not refused"
op POST /v1/instances/other/switch '{"mode": "container"}' | jq -e '.error.code == "not_found"' >/dev/null ||
  fail "the card's switch of another instance was not refused"
op GET /v1/host/tenant | jq -e '.tenant.state == "running" and .tenant.switch == null' >/dev/null ||
  fail "a refused switch changed the tenant: $(op GET /v1/host/tenant)"
# Asked at the orchestrator's own address (ZERO_URL): while the tenant runs the card answers there.
# zeroctl switch, as an orchestrator asks it there: the card answers 202 with an operation (zerod's
# shape), which zeroctl follows step by step: the card's take-back, then, zerod back, the switch
# that carries that operation's id on.
t0=$(now_ms)
zeroctl --timeout 900 switch sw container --grace 60 >"$T/to_ct.out" 2>&1 || fail "zeroctl switch sw container at ZERO_URL: $(cat "$T/to_ct.out")"
sed 's/^/#   /' "$T/to_ct.out"
SW_OP=$(sed -n 's/^switching sw to container (operation \([0-9a-f]\{32\}\))$/\1/p' "$T/to_ct.out")
[[ -n $SW_OP ]] || fail "zeroctl switch sw container: no operation from the card: $(cat "$T/to_ct.out")"
for step in power_off take_back host_boot stop mode card_up spawn running; do
  grep -Eq "^ +$step +[0-9.]+ (ms|s)\$" "$T/to_ct.out" || fail "zeroctl switch sw container did not show step $step: $(cat "$T/to_ct.out")"
done
grep -q '^    host taken back: zerod answers again$' "$T/to_ct.out" || fail "zeroctl switch sw container did not say zerod came back: $(cat "$T/to_ct.out")"
grep -q '^sw is a container, running' "$T/to_ct.out" || fail "zeroctl switch sw container's outcome: $(cat "$T/to_ct.out")"
expect 200 GET "/v1/operations/$SW_OP"
jq -e '.kind == "switch" and .status == "succeeded" and .steps[0].step == "power_off"' "$BODY" >/dev/null ||
  fail "zerod's operation $SW_OP (the card's switch): $(cat "$BODY")"
op GET /v1/host/tenant | jq -e --arg id "$SW_OP" '.last.switch == "container" and .last.take_back.operation == $id' >/dev/null ||
  fail "the card's record of the switch: $(op GET /v1/host/tenant)"
zerod_ready_after "$t0" 240
state=
for _ in $(seq 1 1200); do
  api GET /v1/instances/sw
  state=$(jbody .mode).$(jbody .state)
  [ "$STATUS" = 200 ] && [ "$state" = container.running ] && break
  sleep 0.1
done
[ "$state" = container.running ] || fail "sw after the card's switch back: $(cat "$BODY")"
{ [ "$(jbody .id)" = "$ID" ] && [ "$(jbody .created_at)" = "$CREATED" ]; } || fail "sw's id or creation time changed: $(cat "$BODY")"
{ [ "$(jbody '.nics[0].mac')" = "$MAC" ] && [ "$(jbody '.nics[0].ip')" = "$IP" ]; } || fail "sw's NIC changed: $(cat "$BODY")"
wait_console sw "MODES container,bms,container, MAC $MAC IP $IP/24" 60
back_ms=$(($(now_ms) - t0))
ping_peer "$IP" "container again"
expect 200 "GET" "/v1/operations?instance=sw&limit=100"
jq -e '[.operations[] | select(.kind == "switch" and .status == "succeeded")] | length == 2' "$BODY" >/dev/null ||
  fail "sw's switches: $(jq -c '[.operations[] | {kind, status, step}]' "$BODY")"
log "back as a container with the same id, MAC and address: $back_ms ms after the card's switch"
# zeroctl saw zerod come back and printed the switch's steps after the hand-over.
wait "$ZEROCTL_PID" || fail "zeroctl switch sw bms failed: $(cat "$T/to_bms.out")"
ZEROCTL_PID=
log "zeroctl switch sw bms: $(tr '\n' '|' <"$T/to_bms.out")"
for step in evict stop cleanup card_down mode card_up prepare handover_load handover spawn boot running; do
  grep -Eq "^ +$step +[0-9.]+ (ms|s)\$" "$T/to_bms.out" || fail "zeroctl switch did not show step $step: $(cat "$T/to_bms.out")"
done
sed -n '/host handed to the tenant/,$p' "$T/to_bms.out" | grep -q '^    host taken back: zerod answers again$' ||
  fail "zeroctl switch did not say the host came back: $(cat "$T/to_bms.out")"
sed -n '/host taken back/,$p' "$T/to_bms.out" | grep -Eq '^ +running +[0-9.]+ (ms|s)$' ||
  fail "zeroctl switch did not show the steps after the take-back: $(cat "$T/to_bms.out")"

log "figures: switch to the tenant's line $seen ms; the card's switch back to the container's line $back_ms ms (TCG)"
lab_down_clean
echo "PASS: a container switched to bms and back in place (to bms $seen ms, back $back_ms ms)"

#!/usr/bin/env bash
# zero-card without its host (no host image: [host] autostart = false): the card's management API
# on its two sockets, against its real engine (softcard.so, a qemu-storage-daemon, bridges and taps
# in a network namespace of the test's own), run under ASan too (the lab's tests, which boot the
# host under TCG, run in the plain build only):
#   - who may ask: no token, a token of the other socket, the host's token on /v1/host: 401, 401, 403;
#   - the state volume made and presented (system) at the first start; the API does not withdraw or
#     delete it (403);
#   - volumes PUT by id: 201, the same again 200, another size 409, bad ids and sizes 422; an image
#     uploaded by its SHA-256 (a body of another hash 422), a volume cloned from it (a raw file
#     sharing the image's extents in the card's pool);
#   - a network (its bridge in the namespace), a NIC (its tap on the bridge), presentations of a
#     volume and a NIC while the host is off: recorded, on its next command line; withdrawn;
#   - the host's power on without a host image: refused with the reason, nothing started;
#   - kill -9 of the card: the next one finds everything as it was (its store, the engine synced);
#   - deletes: a network with a NIC 409, then the NIC, the network, the volumes; SIGTERM: exit 0.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

: "${ZERO_BUILD_DIR:?ZERO_BUILD_DIR must point at the build tree (set by ctest)}"
ZERO_CARD=$ZERO_BUILD_DIR/card/zero-card
[ -x "$ZERO_CARD" ] || fail "no $ZERO_CARD"
command -v qemu-storage-daemon >/dev/null || fail "qemu-storage-daemon is missing (Debian: qemu-system-common)"

touch "$T/netns"
unshare --net="$T/netns" true || fail "cannot make the card's network namespace"
cat >"$T/card.conf" <<EOF
[card]
state_dir = $T/state
run_dir = $T/run
netns = $T/netns
api_socket = $T/card.sock
softcard = $ZERO_PLUGIN_DIR/softcard.so
shim = $ZERO_SHIM
[host]
autostart = false
listen = 127.0.0.1:0
state_volume_size = 268435456
EOF
CARD_PID=
start_card() {
  "$ZERO_CARD" --config "$T/card.conf" >>"$T/card.log" 2>&1 &
  CARD_PID=$!
  for _ in $(seq 1 200); do
    [ -S "$T/card.sock" ] && [ -s "$T/state/operator.token" ] &&
      curl -sf -o /dev/null --unix-socket "$T/card.sock" -H "Authorization: Bearer $(cat "$T/state/operator.token")" \
        http://card/v1/card && return 0
    kill -0 "$CARD_PID" 2>/dev/null || fail "zero-card exited: $(tail -n 5 "$T/card.log")"
    sleep 0.05
  done
  fail "zero-card did not answer within 10 s: $(tail -n 5 "$T/card.log")"
}
fail() {
  echo "FAIL: $*" >&2
  [ -f "$T/card.log" ] && { echo "--- card.log" >&2; grep -v QMP "$T/card.log" | tail -n 30 >&2; }
  exit 1
}

# call SOCKET TOKEN METHOD PATH [BODY [CONTENT-TYPE]]: sets STATUS, the body in $BODY
call() {
  local sock=$1 tok=$2 method=$3 path=$4 args=()
  [ -z "$tok" ] || args+=(-H "Authorization: Bearer $tok")
  if [ $# -ge 5 ]; then args+=(-H "Content-Type: ${6:-application/json}" --data-binary "$5"); fi
  STATUS=$(curl -sS -m 120 -o "$BODY" -w '%{http_code}' --unix-socket "$sock" "${args[@]}" -X "$method" "http://card$path") ||
    fail "curl $method $path failed"
}
op() { call "$T/card.sock" "$(cat "$T/state/operator.token")" "$@"; }
host() { call "$T/run/host-api.sock" "$(cat "$T/state/host/card-token")" "$@"; }
want() { # want STATUS COMMAND...
  local s=$1
  shift
  "$@"
  [ "$STATUS" = "$s" ] || fail "$*: expected HTTP $s, got $STATUS: $(cat "$BODY")"
}
id() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

start_card
log "zero-card answers on $T/card.sock"

# --- who may ask ----------------------------------------------------------------------------------
want 401 call "$T/card.sock" "" GET /v1/card
want 401 call "$T/card.sock" "$(cat "$T/state/host/card-token")" GET /v1/card
want 401 call "$T/run/host-api.sock" "$(cat "$T/state/operator.token")" GET /v1/card
want 200 host GET /v1/card
want 403 host GET /v1/host
want 403 host POST /v1/host/power '{"action":"on"}'
want 200 op GET /v1/host
[ "$(jbody .power)" = off ] || fail "the host is $(jbody .power) without a host image"
log "tokens: each good on its own socket only; /v1/host the operator's"

# --- the state volume ------------------------------------------------------------------------------
want 200 op GET /v1/card
SV=$(jbody .host.state_volume)
for _ in $(seq 1 300); do # made (mkfs.ext4) and presented after the card's start
  want 200 op GET /v1/presentations
  [ "$(jq -r --arg id "$SV" '.presentations[] | select(.id == $id) | "\(.system) \(.state)"' "$BODY")" = "true presented" ] && break
  sleep 0.1
done
[ "$(jq -r --arg id "$SV" '.presentations[] | select(.id == $id) | "\(.system) \(.state)"' "$BODY")" = "true presented" ] ||
  fail "the state volume is not presented as the card's own: $(cat "$BODY")"
want 403 host DELETE "/v1/volumes/$SV/presentation"
want 403 host DELETE "/v1/volumes/$SV"

# --- volumes, an image, a clone --------------------------------------------------------------------
V1=$(id)
want 201 host PUT "/v1/volumes/$V1" '{"size_bytes":67108864}'
[ "$(jbody .state)" = ready ] || fail "volume $V1: $(cat "$BODY")"
want 200 host PUT "/v1/volumes/$V1" '{"size_bytes":67108864}'
want 409 host PUT "/v1/volumes/$V1" '{"size_bytes":134217728}'
want 422 host PUT /v1/volumes/nothex '{"size_bytes":67108864}'
want 422 host PUT "/v1/volumes/$(id)" '{"size_bytes":1000}'
want 415 call "$T/run/host-api.sock" "$(cat "$T/state/host/card-token")" PUT "/v1/volumes/$(id)" 'x' text/plain
truncate -s 32M "$T/image.raw"
mkfs.ext4 -q -F "$T/image.raw" >/dev/null
SHA=$(sha256sum "$T/image.raw" | cut -d' ' -f1)
want 404 host GET "/v1/images/$SHA"
want 422 call "$T/run/host-api.sock" "$(cat "$T/state/host/card-token")" PUT "/v1/images/$(printf '%064d' 0)" \
  "@$T/image.raw" application/octet-stream
curl -sS -o "$BODY" -w '%{http_code}' --unix-socket "$T/run/host-api.sock" -H "Authorization: Bearer $(cat "$T/state/host/card-token")" \
  -H 'Content-Type: application/octet-stream' -T "$T/image.raw" "http://card/v1/images/$SHA" >"$T/status" || fail "the image's upload failed"
[ "$(cat "$T/status")" = 201 ] || fail "the image's upload: $(cat "$T/status") $(cat "$BODY")"
[ -n "$(find "$T/state/images" -name '.upload-*')" ] && fail "an upload left its file: $(ls -a "$T/state/images")"
V2=$(id)
want 201 host PUT "/v1/volumes/$V2" "{\"size_bytes\":67108864,\"source\":\"$SHA\"}"
[ "$(jbody .format)" = raw ] || fail "the clone is not a raw file: $(cat "$BODY")"
[ -f "$T/state/softcard/pool/volumes/$V2.raw" ] || fail "the clone is not in the card's pool: $(ls -R "$T/state/softcard" | head -20)"
want 422 host PUT "/v1/volumes/$(id)" "{\"size_bytes\":67108864,\"source\":\"$(printf '%064d' 1)\"}"
log "volumes: made, made again (200), refused (409, 422, 415); image uploaded by its hash, a clone of it"

# --- a network, a NIC, presentations with the host off -------------------------------------------
N1=$(id) NIC=$(id)
want 201 host PUT "/v1/networks/$N1" '{"name":"n1","subnet":"10.88.0.0/24","gateway":"10.88.0.1"}'
BR=$(jbody .bridge)
nsenter --net="$T/netns" ip link show "$BR" >/dev/null 2>&1 || fail "no bridge $BR in the card's namespace"
want 201 host PUT "/v1/nics/$NIC" "{\"network\":\"$N1\",\"mac\":\"02:00:00:00:00:05\",\"ip\":\"10.88.0.5\"}"
TAP=$(jbody .tap)
nsenter --net="$T/netns" ip -o link show "$TAP" | grep -q "master $BR" || fail "the NIC's tap $TAP is not on $BR"
want 200 host PUT "/v1/volumes/$V1/presentation" '{"personality":"virtio-scsi"}'
[ "$(jbody .state) $(jbody .serial) $(jbody .personality)" = "presented ${V1:0:20} virtio-scsi" ] ||
  fail "volume $V1's presentation: $(cat "$BODY")"
want 409 host PUT "/v1/volumes/$V1/presentation" '{"personality":"nvme"}'
want 422 host PUT "/v1/volumes/$V2/presentation" '{"personality":"ide"}'
want 200 host PUT "/v1/nics/$NIC/presentation" '{}'
want 409 op GET /v1/host/devices
want 422 op POST /v1/host/power '{"action":"sideways"}'
want 422 op POST /v1/host/power '{"action":"on"}'
grep -q 'kernel and initrd' "$BODY" || fail "the power on without a host image: $(cat "$BODY")"
log "network $BR, NIC $TAP on it; a volume and the NIC presented while the host is off; no power on without a host image"

# --- the tenant's API without a tenant (bms: tests/lab/bms.sh hands the host over) ---------------------
want 200 host GET /v1/host/tenant
jq -e '.tenant == null and .last == null' "$BODY" >/dev/null || fail "a tenant on a new card: $(cat "$BODY")"
want 409 op GET /v1/node
grep -q "zerod answers" "$BODY" || fail "GET /v1/node without a tenant: $(cat "$BODY")"
want 409 op GET /v1/instances/metal
want 409 op POST /v1/instances/metal/stop '{}'
want 409 op POST /v1/instances/metal/switch '{"mode":"container"}'
want 409 op GET /v1/operations/0123456789abcdef0123456789abcdef
want 403 host POST /v1/instances/metal/switch '{"mode":"container"}'
want 403 host GET /v1/node
OPID=$(id)
want 409 host POST /v1/host/handover "{\"operation\":\"$OPID\",\"instance\":\"$(id)\",\"name\":\"metal\",\"volumes\":[\"$V1\"]}"
grep -q 'not running' "$BODY" || fail "a hand-over of a host that is off: $(cat "$BODY")"
want 200 host GET /v1/host/tenant
jq -e '.tenant == null' "$BODY" >/dev/null || fail "a refused hand-over left a tenant: $(cat "$BODY")"
log "no tenant: the card does not answer for the node (409), a hand-over of a host that is off is refused"

# --- kill -9 of the card --------------------------------------------------------------------------
want 200 op GET /v1/volumes
before=$(jq -c '[.volumes[] | {id, state, size_bytes, presentation}] | sort_by(.id)' "$BODY")
kill -9 "$CARD_PID"
wait "$CARD_PID" 2>/dev/null || true
start_card
want 200 op GET /v1/volumes
after=$(jq -c '[.volumes[] | {id, state, size_bytes, presentation}] | sort_by(.id)' "$BODY")
[ "$after" = "$before" ] || fail "the card's volumes changed over its kill -9: $before -> $after"
nsenter --net="$T/netns" ip link show "$TAP" >/dev/null 2>&1 || fail "the NIC's tap is gone after the card's restart"
log "kill -9 of the card: its volumes, presentations, bridge and tap as they were"

# --- withdraw and delete ---------------------------------------------------------------------------
want 204 host DELETE "/v1/volumes/$V1/presentation"
want 204 host DELETE "/v1/volumes/$V1/presentation"
want 409 host DELETE "/v1/networks/$N1"
want 204 host DELETE "/v1/nics/$NIC"
want 204 host DELETE "/v1/networks/$N1"
nsenter --net="$T/netns" ip link show "$BR" >/dev/null 2>&1 && fail "the bridge $BR is left"
for v in "$V1" "$V2"; do
  want 204 host DELETE "/v1/volumes/$v"
  want 404 host GET "/v1/volumes/$v"
done
want 200 op GET /v1/presentations
[ "$(jq '.presentations | length' "$BODY")" = 1 ] || fail "presentations left: $(cat "$BODY")"

kill -TERM "$CARD_PID"
rc=0
wait "$CARD_PID" || rc=$?
[ "$rc" = 0 ] || fail "zero-card exited with $rc on SIGTERM"
log "deleted; SIGTERM: exit 0"
echo PASS

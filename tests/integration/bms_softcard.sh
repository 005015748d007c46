#!/usr/bin/env bash
# The bms plugin on the softcard: zerod loads bms.so; the node lists the mode, unavailable, with
# the probe's reason (the softcard dies with the host's kernel) and as exclusive; a bms instance
# is refused at its create with 422 and that reason, and a running container's switch to bms
# likewise; nothing is recorded or made for them. "evict" is refused where it does not apply.
. "$(dirname "$0")/lib.sh"

[ -f "$ZERO_PLUGIN_DIR/bms.so" ] || fail "no bms.so in $ZERO_PLUGIN_DIR"
start_zerod
grep -q "Loaded plugin bms (mode bms" "$T/zerod.log" || fail "zerod did not load bms.so: $(grep -i plugin "$T/zerod.log")"

expect 200 GET /v1/node
jq -e '.plugins[] | select(.mode == "bms")' "$BODY" >/dev/null || fail "the node does not list the bms mode: $(cat "$BODY")"
[ "$(jbody '.plugins[] | select(.mode == "bms") | .available')" = false ] ||
  fail "bms is available on the softcard: $(cat "$BODY")"
[ "$(jbody '.plugins[] | select(.mode == "bms") | .exclusive')" = true ] || fail "bms is not exclusive: $(cat "$BODY")"
reason=$(jbody '.plugins[] | select(.mode == "bms") | .reason')
case "$reason" in
"the card does not outlive the host's kernel (the softcard runs on it)"*) ;;
*) fail "bms's reason does not begin with the card's: $reason" ;;
esac
# The other modes are no one's business of the card's: they stay as they were.
[ "$(jbody '[.plugins[] | select(.mode == "container" or .mode == "vm") | .exclusive] | unique | join(",")')" = false ] ||
  fail "container or vm is exclusive: $(cat "$BODY")"
log "the node lists bms, unavailable: $reason ($(jbody '.plugins[] | select(.mode == "bms") | .runtime'))"

make_image bb
expect 422 POST /v1/instances '{"name":"metal","mode":"bms","image":"bb","command":["/bin/true"]}'
[ "$(jbody .error.code)" = invalid ] || fail "the refusal's code: $(cat "$BODY")"
[ "$(jbody .error.message)" = "mode 'bms' cannot run here: $reason" ] || fail "the refusal does not give the probe's reason: $(cat "$BODY")"
expect 404 GET /v1/instances/metal
expect 200 GET /v1/volumes
[ "$(jbody '.volumes | length')" = 0 ] || fail "a refused bms create left volumes: $(cat "$BODY")"
log "a bms instance is refused with 422 and the probe's reason; nothing is made"

# A running container cannot become a bms instance here either, and runs on.
act POST /v1/instances '{"name":"c1","image":"bb","command":["/bin/sh","-c","sleep 1000"]}'
expect 422 POST /v1/instances/c1/switch '{"mode":"bms"}'
[ "$(jbody .error.message)" = "mode 'bms' cannot run here: $reason" ] || fail "the switch's refusal: $(cat "$BODY")"
[ "$(inst c1 state)" = running ] && [ "$(inst c1 mode)" = container ] || fail "c1 after the refused switch: $(cat "$BODY")"
expect 200 GET /v1/node
[ "$(jbody .mode)" = container ] || fail "the node's mode: $(jbody .mode)"
log "a container's switch to bms is refused the same way; it runs on"

# "evict" is for a mode that needs the node to itself, and "stop" is its one value: refused with
# 422 for a container, at create and at start, and c1 stays as it was.
expect 422 POST /v1/instances '{"name":"c2","image":"bb","command":["/bin/true"],"evict":"stop"}'
[ "$(jbody .error.message)" = "evict: only an instance of a mode that needs the node to itself evicts others ('container' does not)" ] ||
  fail "evict on a container's create: $(cat "$BODY")"
expect 404 GET /v1/instances/c2
act POST /v1/instances/c1/stop '{"timeout_s":1}'
expect 422 POST /v1/instances/c1/start '{"evict":"stop"}'
jbody .error.message | grep -q "('container' does not)" || fail "evict on a container's start: $(cat "$BODY")"
expect 422 POST /v1/instances/c1/start '{"evict":"kill"}'
[ "$(jbody .error.message)" = 'evict: "stop" is the one way to clear the node (the others are stopped first)' ] ||
  fail "evict kill: $(cat "$BODY")"
expect 422 POST /v1/instances/c1/start '{"force":true}'
[ "$(inst c1 state)" = stopped ] || fail "c1 after the refused starts: $(cat "$BODY")"
act POST /v1/instances/c1/start '{}'
[ "$(inst c1 state)" = running ] || fail "c1 did not start with an empty body: $(cat "$BODY")"
log "evict is refused for a container (create and start) and for another value than stop"

act DELETE "/v1/instances/c1?force=true"
stop_zerod
assert_nothing_left

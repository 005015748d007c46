#!/usr/bin/env bash
# The API's reads as orchestrators poll them (issue 12): every GET carries an ETag and answers 304
# to If-None-Match while nothing changed, 200 with a new tag once something did, and never 304
# with a tag from before a restart; lists page by name (?limit, ?after) with filters (?state,
# ?mode), say how to go on ("next", a Link header), and refuse bad values (422) without changing
# anything. Real zerod, real containers.
. "$(dirname "$0")/lib.sh"

start_zerod
make_image busybox
for n in c3 c1 c5 c2 c4; do
  act POST /v1/instances "{\"name\":\"$n\",\"image\":\"busybox\",\"memory_mib\":16,\"command\":[\"/bin/sleep\",\"600\"]}"
done
act POST /v1/instances/c4/stop '{"timeout_s":1}'
act POST /v1/volumes '{"name":"v1","size_bytes":16777216}'
act POST /v1/volumes '{"name":"v2","size_bytes":16777216}'
expect 201 POST /v1/networks '{"name":"net1","subnet":"10.98.0.0/24"}'
expect 201 POST /v1/networks '{"name":"net2","subnet":"10.98.1.0/24"}'

HDRS=$T/headers
# get PATH [If-None-Match]: sets STATUS, ETAG (the answer's) and LINK; the body in $BODY.
get() {
  local args=(-sS -D "$HDRS" -o "$BODY" -w '%{http_code}' --unix-socket "$SOCK" "http://zero$1")
  [ $# -lt 2 ] || args+=(-H "If-None-Match: $2")
  rm -f "$BODY" # curl writes no file for an answer without a body
  STATUS=$(curl "${args[@]}") || fail "curl GET $1 failed"
  ETAG=$(tr -d '\r' <"$HDRS" | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
  LINK=$(tr -d '\r' <"$HDRS" | sed -n 's/^[Ll][Ii][Nn][Kk]: //p')
}

# Every GET: a tag, then 304 without a body for it (also among others, and weak), 200 for another.
for path in /v1/node /v1/instances /v1/instances/c1 '/v1/instances?limit=2&state=running' /v1/volumes /v1/volumes/v1 \
  /v1/networks /v1/networks/net1 /v1/images /v1/images/busybox '/v1/events?limit=5' /v1/instances/c1/console \
  '/v1/operations?limit=2'; do
  get "$path"
  [ "$STATUS" = 200 ] || fail "GET $path: $STATUS"
  [ -n "$ETAG" ] || fail "GET $path: no ETag"
  get "$path" "$ETAG"
  [ "$STATUS" = 304 ] || fail "GET $path with its ETag: $STATUS, expected 304"
  [ ! -s "$BODY" ] || fail "GET $path: a 304 with a body: $(head -c 200 "$BODY")"
  get "$path" "\"other\", W/$ETAG"
  [ "$STATUS" = 304 ] || fail "GET $path, its ETag weak among others: $STATUS"
  get "$path" '"other"'
  [ "$STATUS" = 200 ] || fail "GET $path with another tag: $STATUS"
  get "$path" '*'
  [ "$STATUS" = 304 ] || fail "GET $path with *: $STATUS"
done

# /metrics has a tag too, but counts every request (the one before included): its body, and so
# its tag, changes from one scrape to the next, and a 304 is not to be had (Prometheus asks none).
get /metrics
[ "$STATUS" = 200 ] && [ -n "$ETAG" ] || fail "GET /metrics: $STATUS, tag '$ETAG'"
get /metrics "$ETAG"
[ "$STATUS" = 200 ] || fail "GET /metrics with the last scrape's tag: $STATUS, expected 200 (it counted that scrape)"

# A change: the list's tag and that instance's tag move, another instance's stays.
get /v1/instances; list_tag=$ETAG
get /v1/instances/c1; c1_tag=$ETAG
get /v1/instances/c2; c2_tag=$ETAG
get /v1/node; node_tag=$ETAG
act POST /v1/instances/c2/stop '{"timeout_s":1}'
get /v1/instances "$list_tag"
[ "$STATUS" = 200 ] || fail "the list after a stop: $STATUS, expected 200 (a stale 304)"
[ "$(jq -r '.instances[] | select(.name=="c2") | .state' "$BODY")" = stopped ] || fail "c2 is not shown stopped"
get /v1/instances/c2 "$c2_tag"
[ "$STATUS" = 200 ] || fail "c2 after its stop: $STATUS"
[ "$(jbody .state)" = stopped ] || fail "c2: $(jbody .state)"
get /v1/instances/c1 "$c1_tag"
[ "$STATUS" = 304 ] || fail "c1, unchanged: $STATUS"
get /v1/node "$node_tag"
[ "$STATUS" = 200 ] || fail "the node after a stop: $STATUS"
# A volume attached: the volume's list and the instance move.
get /v1/volumes; vol_tag=$ETAG
get /v1/instances/c1; c1_tag=$ETAG
act POST /v1/instances/c4/volumes '{"name":"v1","path":"/data"}'
get /v1/volumes "$vol_tag"
[ "$STATUS" = 200 ] || fail "volumes after an attach: $STATUS"
[ "$(jq -r '.volumes[] | select(.name=="v1") | .attached_to' "$BODY")" = c4 ] || fail "v1 is not shown attached to c4"
get /v1/instances/c4
[ "$(jq -r '.volumes | map(.name) | join(",")' "$BODY")" = "c4-root,v1" ] || fail "c4's volumes: $(cat "$BODY")"

# Pages: by name, "next" and a Link to the next page, the same filters kept.
get '/v1/instances?limit=2'
[ "$(jq -r '[.instances[].name] | join(",")' "$BODY")" = c1,c2 ] || fail "page 1: $(jq -c '[.instances[].name]' "$BODY")"
[ "$(jbody .next)" = c2 ] || fail "page 1's next: $(jbody .next)"
[ "$LINK" = '</v1/instances?limit=2&after=c2>; rel="next"' ] || fail "page 1's Link: $LINK"
page1_tag=$ETAG
get '/v1/instances?limit=2&after=c2' "$page1_tag"
[ "$STATUS" = 200 ] || fail "page 2 with page 1's tag: $STATUS"
[ "$(jq -r '[.instances[].name] | join(",")' "$BODY")" = c3,c4 ] || fail "page 2: $(cat "$BODY")"
get '/v1/instances?limit=2&after=c4'
[ "$(jq -r '[.instances[].name] | join(",")' "$BODY")" = c5 ] || fail "page 3: $(cat "$BODY")"
[ "$(jbody .next)" = null ] && [ -z "$LINK" ] || fail "the last page says there is more: $(jbody .next) $LINK"
get '/v1/instances?state=running&limit=1&after=c1'
[ "$(jq -r '[.instances[].name] | join(",")' "$BODY")" = c3 ] || fail "running after c1: $(cat "$BODY")"
[ "$LINK" = '</v1/instances?limit=1&after=c3&state=running>; rel="next"' ] || fail "filtered Link: $LINK"
get '/v1/instances?state=stopped&mode=container'
[ "$(jq -r '[.instances[].name] | join(",")' "$BODY")" = c2,c4 ] || fail "stopped containers: $(cat "$BODY")"
get '/v1/instances?mode=vm'
[ "$(jq '.instances | length' "$BODY")" = 0 ] || fail "vm instances: $(cat "$BODY")"
get '/v1/instances?after=c2a'  # an after= that names nothing (deleted meanwhile) still pages
[ "$(jq -r '[.instances[].name] | join(",")' "$BODY")" = c3,c4,c5 ] || fail "after c2a: $(cat "$BODY")"
get '/v1/instances'
[ "$(jq '.instances | length' "$BODY")" = 5 ] && [ "$(jbody .next)" = null ] || fail "the whole list: $(cat "$BODY")"
get '/v1/volumes?limit=1'
[ "$(jq -r '[.volumes[].name] | join(",")' "$BODY")" = c1-root ] && [ "$(jbody .next)" = c1-root ] || fail "volumes page: $(cat "$BODY")"
get '/v1/volumes?limit=10&after=c5-root&state=ready'
[ "$(jq -r '[.volumes[].name] | join(",")' "$BODY")" = v1,v2 ] || fail "volumes after c5-root: $(cat "$BODY")"
get '/v1/networks?limit=1'
[ "$(jq -r '[.networks[].name] | join(",")' "$BODY")" = net1 ] && [ "$LINK" = '</v1/networks?limit=1&after=net1>; rel="next"' ] ||
  fail "networks page: $(cat "$BODY") $LINK"
get '/v1/images?limit=1'
[ "$(jq -r '[.images[].name] | join(",")' "$BODY")" = busybox ] && [ "$(jbody .next)" = null ] || fail "images page: $(cat "$BODY")"
# Operations: in the order they were made, 100 a page by default, by status and instance.
get '/v1/operations'
all_ops=$(jq -r '[.operations[].id] | join(",")' "$BODY")
[ "$(jq '.operations | length' "$BODY")" -ge 13 ] && [ "$(jbody .next)" = null ] || fail "operations: $(head -c 300 "$BODY")"
[ "$(jq -r '.operations[0].kind' "$BODY")" = import ] || fail "the first operation: $(jq -c '.operations[0]' "$BODY")"
get '/v1/operations?limit=3'
first=$(jq -r '[.operations[].id] | join(",")' "$BODY"); next=$(jbody .next)
[ "$LINK" = "</v1/operations?limit=3&after=$next>; rel=\"next\"" ] || fail "operations' Link: $LINK"
get "/v1/operations?limit=1000&after=$next"
[ "$first,$(jq -r '[.operations[].id] | join(",")' "$BODY")" = "$all_ops" ] || fail "operations in two pages differ from one"
get '/v1/operations?status=succeeded&instance=c2'
[ "$(jq -r '[.operations[].kind] | join(",")' "$BODY")" = create,stop ] || fail "c2's operations: $(cat "$BODY")"
for q in after=0123456789abcdef0123456789abcdef status=done instance=Bad_Name limit=0; do
  get "/v1/operations?$q"
  [ "$STATUS" = 422 ] && [ "$(jbody .error.code)" = invalid ] || fail "GET /v1/operations?$q: $STATUS $(cat "$BODY")"
done

# Bad values: 422 with the usual error, nothing changed.
snapshot() { sqlite3 "$T/state/zero.db" '.dump instances' '.dump volumes' '.dump networks' '.dump nics' '.dump attachments'; }
before=$(snapshot)
for q in 'limit=0' 'limit=1001' 'limit=-1' 'limit=ten' 'limit=' 'after=Bad_Name' 'after=' 'state=sleeping' 'state=' \
  'mode=Bad' 'mode=' 'limit=2&state=nope'; do
  for c in instances volumes networks; do
    case "$c:$q" in networks:mode=* | volumes:mode=*) continue ;; esac # they have no mode: ignored
    get "/v1/$c?$q"
    [ "$STATUS" = 422 ] || fail "GET /v1/$c?$q: $STATUS, expected 422"
    [ "$(jbody .error.code)" = invalid ] && [ -n "$(jbody .error.message)" ] || fail "GET /v1/$c?$q: $(cat "$BODY")"
  done
done
get '/v1/images?limit=0'
[ "$STATUS" = 422 ] || fail "GET /v1/images?limit=0: $STATUS"
[ "$(snapshot)" = "$before" ] || fail "a refused list changed the store"

# A restart: the tags from before never answer 304, even where the content is the same.
get /v1/instances; list_tag=$ETAG
get /v1/instances/c1; c1_tag=$ETAG
get /v1/node; node_tag=$ETAG
get /v1/volumes; vol_tag=$ETAG
stop_zerod
start_zerod
get /v1/instances "$list_tag"
[ "$STATUS" = 200 ] || fail "the list after a restart, with the tag from before: $STATUS"
get /v1/instances/c1 "$c1_tag"
[ "$STATUS" = 200 ] || fail "c1 after a restart, with the tag from before: $STATUS"
[ "$(jbody .state)" = running ] || fail "c1 after the restart: $(jbody .state)"
get /v1/node "$node_tag"
[ "$STATUS" = 200 ] || fail "the node after a restart, with the tag from before: $STATUS"
# A tag from the body alone: the same content after a restart is the same tag (and correct).
get /v1/volumes "$vol_tag"
[ "$STATUS" = 304 ] || fail "the volumes, unchanged across the restart: $STATUS"

for n in c1 c2 c3 c4 c5; do act DELETE "/v1/instances/$n?force=true"; done
act DELETE /v1/volumes/v1
act DELETE /v1/volumes/v2
expect 204 DELETE /v1/networks/net1
expect 204 DELETE /v1/networks/net2
stop_zerod
assert_nothing_left
echo PASS

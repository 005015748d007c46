#!/usr/bin/env bash
# GET /v1/events as Server-Sent Events: a stream gets its instance's events as frames, in order,
# the same objects as the JSON page; Last-Event-ID resumes after an id; idle streams get a
# keepalive, and streams of clients that went away are freed by it; at most 64 streams at once
# (503 beyond); zerod stops cleanly with streams open.
. "$(dirname "$0")/lib.sh"

STREAMS_MAX=64 # ZERO_STREAMS_MAX in agent/http.h

# stream FILE QUERY [curl args...]: follows /v1/events?QUERY in the background into FILE; the
# curl's pid is in $STREAM_PID.
stream() {
  local file=$1 query=$2; shift 2
  curl -sN --unix-socket "$SOCK" -H 'Accept: text/event-stream' "$@" "http://zero/v1/events?$query" >"$file" 2>&1 &
  STREAM_PID=$!
}
frames() { awk '/^id: /{id=$2} /^event: /{ev=$2} /^data: /{print id, ev}' "$1"; } # "ID TYPE" per frame
wait_for() { # wait_for FILE REGEX [SECONDS (10)]
  for _ in $(seq 1 $((${3:-10} * 10))); do
    grep -qE -- "$2" "$1" && return 0
    sleep 0.1
  done
  fail "$1 never showed '$2': $(tail -c 400 "$1")"
}

start_zerod
make_image busybox

# A stream for c1's events only, one for everything, and one given only ?stream=1.
stream "$T/c1.sse" 'instance=c1' -D "$T/headers"
C1_PID=$STREAM_PID
stream "$T/all.sse" 'after=0'
ALL_PID=$STREAM_PID
curl -sN --unix-socket "$SOCK" 'http://zero/v1/events?stream=1&instance=c1' >"$T/q.sse" 2>&1 &
Q_PID=$!
wait_for "$T/c1.sse" '^: open'
wait_for "$T/q.sse" '^: open'
grep -qi '^content-type: text/event-stream' "$T/headers" || fail "stream headers: $(cat "$T/headers")"
grep -qi '^cache-control: no-cache' "$T/headers" || fail "stream lacks Cache-Control: no-cache: $(cat "$T/headers")"
log "streams open with text/event-stream and Cache-Control: no-cache"

act POST /v1/instances '{"name":"c1","image":"busybox","memory_mib":32,"command":["/bin/sh","-c","trap \"exit 0\" TERM; while true; do sleep 0.1; done"]}'
expect 201 POST /v1/networks '{"name":"net1","subnet":"10.98.0.0/24"}'
act DELETE /v1/instances/c1
deleted='^data: .*"type":"operation".*"kind":"delete","status":"succeeded"' # the delete's last event
wait_for "$T/c1.sse" "$deleted"
wait_for "$T/q.sse" "$deleted"
wait_for "$T/all.sse" "$deleted"

# The c1 stream holds exactly c1's events of the page, the same JSON objects, in order.
expect 200 GET '/v1/events?limit=1000'
jq -c '.events[] | select(.instance == "c1")' "$BODY" >"$T/c1.page"
sed -n 's/^data: //p' "$T/c1.sse" | jq -c . >"$T/c1.data"
[ -s "$T/c1.page" ] || fail "the page has no events of c1: $(cat "$BODY")"
diff "$T/c1.page" "$T/c1.data" >&2 || fail "the c1 stream differs from the page's c1 events"
cmp -s "$T/c1.data" <(sed -n 's/^data: //p' "$T/q.sse" | jq -c .) || fail "?stream=1 differs from Accept: text/event-stream"
frames "$T/c1.sse" | awk 'NR > 1 && $1 <= prev {bad = 1} {prev = $1} END {exit bad}' || fail "ids do not increase: $(frames "$T/c1.sse")"
frames "$T/c1.sse" | awk '{print $2}' | uniq >"$T/c1.types"
for t in operation.step instance.state operation instance.deleted; do
  grep -qx "$t" "$T/c1.types" || fail "no $t frame in the c1 stream: $(tr '\n' ' ' <"$T/c1.types")"
done
tail -n 1 "$T/c1.data" | grep -qE "${deleted#^data: }" || fail "the delete's end is not c1's last frame"
# frame ids match the data's ids, and the unfiltered stream has the network too, in page order
paste -d' ' <(frames "$T/c1.sse" | awk '{print $1, $2}') <(jq -r '"\(.id) \(.type)"' "$T/c1.data") |
  awk '$1 != $3 || $2 != $4 {exit 1}' || fail "frame id/event lines do not match their data"
grep -qx 'event: network.created' "$T/all.sse" || fail "the unfiltered stream lacks network.created"
grep -qx 'event: network.created' "$T/c1.sse" && fail "the c1 stream has network.created"
jq -c '.events[]' "$BODY" >"$T/all.page"
cmp -s "$T/all.page" <(sed -n 's/^data: //p' "$T/all.sse" | jq -c .) || fail "the unfiltered stream differs from the page"
log "the streams got $(wc -l <"$T/c1.data") frames of c1 in order, as on the page; the filter kept out the rest"

# Last-Event-ID resumes after that id (and wins over after=); a bad one is refused.
n=$(wc -l <"$T/c1.data")
mid=$(frames "$T/c1.sse" | sed -n "$((n / 2))p" | cut -d' ' -f1)
stream "$T/resume.sse" 'instance=c1&after=0' -H "Last-Event-ID: $mid"
RESUME_PID=$STREAM_PID
stream "$T/after.sse" "instance=c1&after=$mid"
AFTER_PID=$STREAM_PID
wait_for "$T/resume.sse" "$deleted"
wait_for "$T/after.sse" "$deleted"
[ "$(frames "$T/resume.sse")" = "$(frames "$T/c1.sse" | awk -v m="$mid" '$1 > m')" ] ||
  fail "resuming after $mid: got $(frames "$T/resume.sse" | tr '\n' ' ')"
cmp -s <(frames "$T/resume.sse") <(frames "$T/after.sse") || fail "after=$mid differs from Last-Event-ID: $mid"
code=$(curl -sS -o "$BODY" -w '%{http_code}' --unix-socket "$SOCK" -H 'Accept: text/event-stream' -H 'Last-Event-ID: x' http://zero/v1/events)
[ "$code" = 422 ] && [ "$(jbody .error.code)" = invalid ] || fail "Last-Event-ID: x answered $code $(cat "$BODY")"
log "Last-Event-ID $mid resumed with the $(frames "$T/resume.sse" | wc -l) frames after it"

# The JSON page is unchanged.
expect 200 GET '/v1/events?after=0&limit=2'
[ "$(jbody '.events | length')" = 2 ] && [ "$(jbody .next)" = "$(jbody '.events[1].id')" ] || fail "page: $(cat "$BODY")"
# ?last=N: the newest N, oldest first, "next" the newest's id (zeroctl events, issue 16).
expect 200 GET '/v1/events?after=0&limit=1000'
newest=$(jbody '.events[-1].id')
expect 200 GET '/v1/events?last=2'
[ "$(jbody '[.events[].id] | join(",")')" = "$((newest - 1)),$newest" ] && [ "$(jbody .next)" = "$newest" ] ||
  fail "last=2 is not the newest two (newest $newest): $(cat "$BODY")"
expect 422 GET '/v1/events?last=0'
expect 422 GET '/v1/events?last=2&after=1'
expect 422 GET '/v1/events?last=2&limit=5'

# The bound: the five streams above plus more up to 64; the next one is refused with JSON.
pids=("$RESUME_PID" "$AFTER_PID")
for i in $(seq 1 $((STREAMS_MAX - 5))); do
  stream "$T/more$i.sse" 'instance=nobody'
  pids+=("$STREAM_PID")
done
for i in $(seq 1 $((STREAMS_MAX - 5))); do wait_for "$T/more$i.sse" '^: open'; done
code=$(curl -sS -m 2 -o "$BODY" -w '%{http_code}' --unix-socket "$SOCK" -H 'Accept: text/event-stream' \
  http://zero/v1/events 2>/dev/null) || true
[ "$code" = 503 ] && [ "$(jbody .error.code)" = busy ] || fail "stream $((STREAMS_MAX + 1)) answered $code: $(cat "$BODY")"
expect 200 GET /v1/node
log "stream $((STREAMS_MAX + 1)) is refused with 503 busy; the API still answers"

# Clients that go away: their streams are parked, so zerod notices at the keepalive (15 s) and
# frees them. Meanwhile the idle c1 stream gets its keepalive.
kill "${pids[@]}" 2>/dev/null || true
wait "${pids[@]}" 2>/dev/null || true
wait_for "$T/c1.sse" '^: keepalive$' 20
for _ in $(seq 1 100); do
  code=$(curl -sS -m 1 -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -H 'Accept: text/event-stream' \
    'http://zero/v1/events?instance=nobody' 2>/dev/null) || true
  [ "$code" = 200 ] && break
  sleep 0.2
done
[ "$code" = 200 ] || fail "the streams of killed clients were not freed: a new stream gets $code"
expect 200 GET /v1/node
log "idle streams get ': keepalive'; the streams of killed clients were freed"

# zerod stops promptly with streams open (under ASan: without leaks), and the streams end.
stream "$T/last1.sse" 'after=0'
stream "$T/last2.sse" 'instance=c1'
LAST_PID=$STREAM_PID
wait_for "$T/last2.sse" "$deleted"
kill -TERM "$ZEROD_PID"
for _ in $(seq 1 100); do
  kill -0 "$ZEROD_PID" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$ZEROD_PID" 2>/dev/null && fail "zerod did not stop within 10 s with streams open"
stop_zerod
for p in "$C1_PID" "$ALL_PID" "$Q_PID" "$LAST_PID"; do
  for _ in $(seq 1 50); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$p" 2>/dev/null && fail "a stream's curl still runs after zerod stopped"
done
log "zerod stopped cleanly with streams open; the streams ended"
echo "PASS"

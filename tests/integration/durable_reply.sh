#!/usr/bin/env bash
# An operation's 202 waits until its row is durable, and nothing else waits with it (agent/durable.c):
# with zerod's sync child stopped (an fsync that takes long), a create gets no answer while GETs
# are answered; once the child goes on, the 202 comes and the operation runs. With the child
# killed, zerod says so and syncs on its loop: every 202 still comes, every operation still runs.
# Real zerod, real card.
. "$(dirname "$0")/lib.sh"

start_zerod
SYNC=$(pgrep -P "$ZEROD_PID" -x zerod-sync || true)
[ -n "$SYNC" ] || fail "zerod has no child named zerod-sync"

kill -STOP "$SYNC"
for _ in $(seq 1 50); do grep -q '^State:.*T' "/proc/$SYNC/status" && break; sleep 0.02; done
grep -q '^State:.*T' "/proc/$SYNC/status" || fail "zerod-sync ($SYNC) did not stop: $(grep State "/proc/$SYNC/status")"
curl -sS -o "$T/v1.json" -w '%{http_code}' --unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' \
  --data-binary '{"name":"v1","size_bytes":16777216}' http://zero/v1/volumes >"$T/v1.status" 2>&1 &
CURL=$!
sleep 1
kill -0 "$CURL" 2>/dev/null || fail "the create was answered while its row could not be synced: $(cat "$T/v1.status");" \
  "zerod-sync $(grep State "/proc/$SYNC/status"); zerod's children: $(pgrep -aP "$ZEROD_PID")"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 --unix-socket "$SOCK" http://zero/v1/node) ||
  fail "GET /v1/node was not answered while a sync waited"
[ "$code" = 200 ] || fail "GET /v1/node while a sync waited: $code"
log "a create waits for its sync; GET /v1/node answered meanwhile"

kill -CONT "$SYNC"
wait "$CURL" || fail "curl of the create failed: $(cat "$T/v1.status")"
[ "$(cat "$T/v1.status")" = 202 ] || fail "the create: $(cat "$T/v1.status") $(cat "$T/v1.json")"
wait_op "$(jq -r .id "$T/v1.json")"
log "the 202 came once synced, and the volume was made"

kill -9 "$SYNC"
for _ in $(seq 1 50); do grep -q "sync child is gone" "$T/zerod.log" && break; sleep 0.1; done
grep -q "sync child is gone" "$T/zerod.log" || fail "zerod did not say its sync child is gone"
act POST /v1/volumes '{"name":"v2","size_bytes":16777216}'
expect 200 GET /v1/volumes/v2
log "without the child: synced on the loop, answered, made"

stop_zerod
assert_nothing_left

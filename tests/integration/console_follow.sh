#!/usr/bin/env bash
# A console followed (issue 16 item 3): GET /v1/instances/NAME/console?follow=true gives the tail,
# then every byte as the instance writes it, none twice and none missed, across the shim's
# rotations of its log (1 MiB each: a container writes 2.8 MB in paced bursts, and what curl got
# is `seq 1 400000` exactly); `zeroctl console --follow` across a stop and a start (both boots'
# lines); the stream ends cleanly when the instance is deleted (curl and zeroctl exit 0); bad
# values are refused. Real zerod, real containers.
. "$(dirname "$0")/lib.sh"

start_zerod
make_image busybox

expect 422 GET '/v1/instances/nope/console?follow=maybe'
jbody .error.message | grep -q follow || fail "422 without saying follow: $(cat "$BODY")"
expect 404 GET '/v1/instances/nope/console?follow=true'

# c1: 400,000 numbered lines in 80 bursts of 5,000, a second after it starts; then DONE.
cmd='sleep 1; i=0; while [ $i -lt 80 ]; do seq $((i*5000+1)) $((i*5000+5000)); i=$((i+1)); sleep 0.05; done; echo DONE; exec sleep 1000'
act POST /v1/instances "{\"name\":\"c1\",\"image\":\"busybox\",\"memory_mib\":32,\"command\":[\"/bin/sh\",\"-c\",$(jq -Rn --arg c "$cmd" '$c')]}"
curl -sS -N --unix-socket "$SOCK" 'http://zero/v1/instances/c1/console?follow=true&bytes=1048576' >"$T/c1.out" 2>"$T/c1.err" &
CURL=$!
for _ in $(seq 1 600); do grep -q '^DONE$' "$T/c1.out" && break; sleep 0.1; done
grep -q '^DONE$' "$T/c1.out" || fail "DONE never came through the follow ($(wc -c <"$T/c1.out") bytes)"
kill -0 "$CURL" 2>/dev/null || fail "the follow ended by itself: $(cat "$T/c1.err")"
ls "$T"/run/instances/*/console.log.1 >/dev/null 2>&1 ||
  fail "the shim never rotated c1's log: the test did not test the rotation"
grep -v '^DONE$' "$T/c1.out" | cmp -s - <(seq 1 400000) ||
  fail "the followed console is not seq 1 400000: $(grep -v '^DONE$' "$T/c1.out" | cmp - <(seq 1 400000) 2>&1 | head -1)"
log "console followed across rotations: 400,000 lines, each once, in order"

# c2: a line per boot; followed by zeroctl across a stop and a start.
cmd2='echo "BOOT $(cat /proc/sys/kernel/random/uuid)"; trap "exit 0" TERM; sleep 1000 & wait'
act POST /v1/instances "{\"name\":\"c2\",\"image\":\"busybox\",\"memory_mib\":16,\"command\":[\"/bin/sh\",\"-c\",$(jq -Rn --arg c "$cmd2" '$c')]}"
ZERO_URL="unix:$SOCK" "$ZEROCTL" console --follow c2 >"$T/c2.out" 2>"$T/c2.err" &
ZC=$!
for _ in $(seq 1 100); do grep -q '^BOOT ' "$T/c2.out" && break; sleep 0.1; done
[ "$(grep -c '^BOOT ' "$T/c2.out")" = 1 ] || fail "zeroctl console --follow: $(cat "$T/c2.out" "$T/c2.err")"
act POST /v1/instances/c2/stop '{"timeout_s":5}'
act POST /v1/instances/c2/start
for _ in $(seq 1 100); do [ "$(grep -c '^BOOT ' "$T/c2.out")" = 2 ] && break; sleep 0.1; done
[ "$(grep -c '^BOOT ' "$T/c2.out")" = 2 ] || fail "the second boot's line did not come: $(cat "$T/c2.out" "$T/c2.err")"
[ "$(sort -u "$T/c2.out" | grep -c '^BOOT ')" = 2 ] || fail "the same boot twice: $(cat "$T/c2.out")"
log "zeroctl console --follow went on across a stop and a start"

# Deleting them ends both streams, cleanly.
act DELETE /v1/instances/c2
act DELETE '/v1/instances/c1?force=true'
for pid in "$CURL" "$ZC"; do
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "a follow did not end with its instance's delete"
done
wait "$CURL" || fail "curl's follow did not end cleanly: $(cat "$T/c1.err")"
wait "$ZC" || fail "zeroctl console --follow did not end cleanly: $(cat "$T/c2.err")"
log "both follows ended with their instances"

stop_zerod
assert_nothing_left

#!/usr/bin/env bash
# A runtime command that hangs blocks nothing: with the container plugin's runtime a wrapper
# around crun whose `run` or `delete` waits while a flag file exists, GET /v1/node answers every
# probe within BOUND_MS while a create waits for `crun run`, a stop (past its kill timer) and a
# delete wait for the shim's `crun delete -f`. The shim answers its socket meanwhile; each
# operation ends well once the hang is released. The plugin's own crun delete (the shim died) is
# bounded: the stop ends with a timeout error. Nothing is left afterwards.
. "$(dirname "$0")/lib.sh"

BOUND_MS=${BOUND_MS:-50}
PROBES=${PROBES:-40}

# crun, except that VERB waits while $T/hang-VERB exists (and says so in $T/hung-VERB).
cat >"$T/crun-wrap" <<EOF
#!/bin/sh
for a; do
  case "\$a" in run|delete)
    if [ -e "$T/hang-\$a" ]; then
      touch "$T/hung-\$a"
      while [ -e "$T/hang-\$a" ]; do sleep 0.05; done
    fi
    break;;
  esac
done
exec crun "\$@"
EOF
chmod 755 "$T/crun-wrap"
ZEROD_CONF_EXTRA=$'[container]\nruntime = '"$T/crun-wrap"
start_zerod
make_image busybox

# get_node_ms: one GET /v1/node, its time in ms in MS (fails unless 200).
get_node_ms() {
  local out code t
  out=$(curl -sS -m 5 --unix-socket "$SOCK" -o /dev/null -w '%{http_code} %{time_total}' http://zero/v1/node) ||
    fail "GET /v1/node failed while $1"
  read -r code t <<<"$out"
  [ "$code" = 200 ] || fail "GET /v1/node answered $code while $1"
  MS=$(awk -v t="$t" 'BEGIN { printf "%d", t * 1000 }')
}

# probe WHAT OP [UNTIL]: PROBES times GET /v1/node, each within BOUND_MS, while OP runs; logs the
# median and the max. With UNTIL (a time as `date +%s.%N` prints it), the probes stop at it, at
# least 10 of them: an operation that ends by itself later (a bounded wait) is still running then,
# where 40 probes on a loaded machine (load 10: ~130 ms each, curl's start included) outlasted it. A probe over the bound is repeated at once and fails the test only if the repeat
# is over it too: a loop blocked by a hung child stays blocked (seconds), while the other tests
# sharing this machine's two cores can delay one answer now and then (counted as "retried").
probe() {
  local what=$1 op=$2 until=${3:-} times=() max=0 retried=0 n=0
  for _ in $(seq 1 "$PROBES"); do
    if [ -n "$until" ] && [ "$n" -ge 10 ] &&
      awk -v u="$until" -v now="$(date +%s.%N)" 'BEGIN { exit !(now >= u) }'; then
      break
    fi
    n=$((n + 1))
    get_node_ms "$what"
    if [ "$MS" -gt "$BOUND_MS" ]; then
      retried=$((retried + 1))
      [ "$MS" -gt "$max" ] && max=$MS
      get_node_ms "$what"
      [ "$MS" -le "$BOUND_MS" ] || fail "GET /v1/node took $MS ms twice in a row while $what (bound $BOUND_MS ms)"
    fi
    times+=("$MS")
    [ "$MS" -gt "$max" ] && max=$MS
    sleep 0.05
  done
  expect 200 GET "/v1/operations/$op"
  [ "$(jbody .status)" = running ] || fail "the operation ended while $what was to hang: $(cat "$BODY")"
  log "while $what: GET /v1/node x$n: median $(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') ms, max $max ms (bound $BOUND_MS ms; $retried over it, each answered within it when repeated)"
}

# hang VERB: the next `crun VERB` waits; wait_hung VERB: until one does.
hang() { rm -f "$T/hung-$1"; touch "$T/hang-$1"; }
wait_hung() {
  for _ in $(seq 1 200); do [ -e "$T/hung-$1" ] && return 0; sleep 0.05; done
  fail "crun $1 was never called"
}
release() { rm -f "$T/hang-$1"; }

cmd='["/bin/sh","-c","trap \"exit 0\" TERM; while true; do sleep 0.1; done"]'
spec="{\"name\":\"c1\",\"image\":\"busybox\",\"cpus\":1,\"memory_mib\":64,\"command\":$cmd}"

# 1. A create whose `crun run --detach` hangs: the shim is "starting" and answers.
hang run
expect 202 POST /v1/instances "$spec"
op=$(jbody .id)
wait_hung run
id=$(inst c1 id)
reply=$(printf status | socat -t 2 - "UNIX-CONNECT:$T/run/instances/$id/shim.sock,type=5" 2>/dev/null) || true
[ "$reply" = starting ] || fail "the shim answered '$reply' to status while crun run hangs, not 'starting'"
probe "crun run hangs" "$op"
release run
wait_op "$op"
[ "$(inst c1 state)" = running ] || fail "c1 is $(inst c1 state) after the create"
log "a create waits for a hung crun run without blocking, and ends running once it is released"

# 2. A stop whose shim's `crun delete -f` hangs: past the kill timer (1 s), whose signal the
# shim answers at once ("the instance has exited"), zerod keeps answering.
hang delete
expect 202 POST /v1/instances/c1/stop '{"timeout_s":1}'
op=$(jbody .id)
wait_hung delete
reply=$(printf status | socat -t 2 - "UNIX-CONNECT:$T/run/instances/$id/shim.sock,type=5" 2>/dev/null) || true
case "$reply" in "exited pid="*) ;; *) fail "the shim answered '$reply' to status while crun delete hangs";; esac
probe "the shim's crun delete hangs (stop)" "$op"
grep -q "did not stop in time" "$T/zerod.log" || fail "the kill timer did not fire during the probes"
[ -e "$T/run/instances/$id/exit" ] && fail "the exit record was written before the cleanup ended"
release delete
wait_op "$op"
[ "$(inst c1 state)" = stopped ] || fail "c1 is $(inst c1 state) after the stop"
[ -z "$(crun --root "$T/run/crun" list -q 2>/dev/null)" ] || fail "crun still knows: $(crun --root "$T/run/crun" list -q)"
log "a stop waits for a hung crun delete without blocking, and ends stopped once it is released"

# 3. The same for a delete.
act POST /v1/instances/c1/start
hang delete
expect 202 DELETE /v1/instances/c1
op=$(jbody .id)
wait_hung delete
probe "the shim's crun delete hangs (delete)" "$op"
release delete
wait_op "$op"
expect 404 GET /v1/instances/c1
[ -e "$T/run/instances/$id" ] && fail "c1's run directory is left"
log "a delete waits for a hung crun delete without blocking, and ends once it is released"

# 4. The shim dies while its crun delete hangs: the plugin's own crun delete -f (cleanup finds
# the container still known to crun) runs in a child watched on zerod's loop, never waited for
# there: GET /v1/node answers meanwhile; it is killed after 5 s, the stop fails with a timeout
# error; a delete after the release cleans up.
expect 202 POST /v1/instances "$spec"
wait_op "$(jbody .id)"
id=$(inst c1 id)
hang delete
expect 202 POST /v1/instances/c1/stop '{"timeout_s":1}'
op=$(jbody .id)
wait_hung delete
rm -f "$T/hung-delete"
kill -9 "$(cat "$T/run/instances/$id/shim.pid")"
t0=$(date +%s.%N)
wait_hung delete
probe "the plugin's own crun delete hangs (stop)" "$op" "$(awk -v t="$t0" 'BEGIN { printf "%.3f", t + 3.5 }')"
wait_op "$op" failed
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
msg=$(jbody .error.message)
[ "$(jbody .error.code)" = timeout ] || fail "the stop failed without a timeout error: $(cat "$BODY")"
grep -q "crun delete -f zero-$id did not end within 5 s" <<<"$msg" || fail "the stop's error does not name the hung crun delete: $(cat "$BODY")"
[ -e "$T/hung-delete" ] || fail "the plugin's crun delete was not the one that hung"
awk -v s="$secs" 'BEGIN { exit !(s >= 4 && s < 30) }' || fail "the stop failed after $secs s, not after the 5 s bound"
release delete
# The dead shim's cleanup command, an orphan now, goes on with its crun delete once released.
for _ in $(seq 1 100); do pgrep -f "$T/crun-wrap" >/dev/null || break; sleep 0.05; done
act DELETE /v1/instances/c1
expect 404 GET /v1/instances/c1
log "with the shim gone, the plugin's own hung crun delete is killed after 5 s: the stop fails with '$msg' in $secs s, a delete after the release cleans up"

stop_zerod
[ -z "$(crun --root "$T/run/crun" list -q 2>/dev/null)" ] || fail "crun still knows: $(crun --root "$T/run/crun" list -q)"
assert_nothing_left
echo PASS

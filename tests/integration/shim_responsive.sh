#!/usr/bin/env bash
# A runtime command that hangs blocks nothing: with the container plugin's runtime a wrapper
# around crun whose `run` or `delete` waits while a flag file exists, GET /v1/node answers every
# probe within BOUND_MS while a create waits for `crun run`, a stop (past its kill timer) and a
# delete wait for the shim's `crun delete -f`. The shim answers its socket meanwhile; each
# operation ends well once the hang is released, and nothing is left afterwards.
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

# probe WHAT OP: PROBES times GET /v1/node, each within BOUND_MS, while OP runs; logs the median
# and the max.
probe() {
  local what=$1 op=$2 out code t ms times=() max=0
  for _ in $(seq 1 "$PROBES"); do
    out=$(curl -sS -m 5 --unix-socket "$SOCK" -o /dev/null -w '%{http_code} %{time_total}' http://zero/v1/node) ||
      fail "GET /v1/node failed while $what"
    read -r code t <<<"$out"
    [ "$code" = 200 ] || fail "GET /v1/node answered $code while $what"
    ms=$(awk -v t="$t" 'BEGIN { printf "%d", t * 1000 }')
    times+=("$ms")
    [ "$ms" -gt "$max" ] && max=$ms
    [ "$ms" -le "$BOUND_MS" ] || fail "GET /v1/node took $ms ms while $what (bound $BOUND_MS ms)"
    sleep 0.05
  done
  expect 200 GET "/v1/operations/$op"
  [ "$(jbody .status)" = running ] || fail "the operation ended while $what was to hang: $(cat "$BODY")"
  log "while $what: GET /v1/node x$PROBES: median $(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') ms, max $max ms (bound $BOUND_MS ms)"
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

stop_zerod
[ -z "$(crun --root "$T/run/crun" list -q 2>/dev/null)" ] || fail "crun still knows: $(crun --root "$T/run/crun" list -q)"
assert_nothing_left
echo PASS

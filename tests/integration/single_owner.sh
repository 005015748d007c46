#!/usr/bin/env bash
# One zerod per state directory and per run directory (issue 10, row 14): with a container running
# on a card volume and a card network, a second zerod on the same state directory, and a third on
# the same run directory with a state of its own, each exit within a second, non-zero, with one
# line naming the holder's pid and the directory; they touch nothing: the container still runs
# with the same pid and answers over its NIC, the storage daemon keeps its pid, the store and
# the links are as they were. deploy/quickstart's check (zero_agent_holder) sees the same lock.
. "$(dirname "$0")/lib.sh"
. "$ZERO_SOURCE_DIR/deploy/lib/common.sh"

use_netns
start_zerod
make_image busybox
expect 201 POST /v1/networks '{"name":"net1","subnet":"10.71.0.0/24"}'
echo_cmd='["/bin/sh","-c","nc -ll -p 7000 -e /bin/cat & while true; do sleep 1; done"]'
act POST /v1/instances "{\"name\":\"c1\",\"image\":\"busybox\",\"command\":$echo_cmd,\"nics\":[{\"network\":\"net1\"}]}"
pid=$(inst c1 pid)
ip=$(inst c1 'nics[0].ip')
alive "$pid" || fail "c1's pid $pid is not alive"
answers() { # the container's echo server, from the test's namespace over the card's bridge
  local out
  for _ in $(seq 1 50); do
    out=$(echo "ping-$1" | in_ns busybox nc -w 2 "$ip" 7000 2>/dev/null || true)
    [ "$out" = "ping-$1" ] && return 0
    sleep 0.1
  done
  return 1
}
answers before || fail "c1 does not answer on $ip:7000"
qsd=$(qsd_pid)
alive "$qsd" || fail "no storage daemon"
snapshot() { # what the second zerod must not change
  curl -sf --unix-socket "$SOCK" http://zero/v1/instances | jq -S '[.instances[] | {name, state, pid}]'
  curl -sf --unix-socket "$SOCK" http://zero/v1/volumes | jq -S '[.volumes[] | {name, state, export}]'
  in_ns ip -o link show | awk '{print $2}' | sort
  losetup -a 2>/dev/null | grep -F "$T" | cut -d: -f1 | sort
}
before=$(snapshot)
[ "$(cat "$T/state/zerod.lock")" = "$ZEROD_PID" ] || fail "state lock holds '$(cat "$T/state/zerod.lock")', not $ZEROD_PID"
[ "$(cat "$T/run/zerod.lock")" = "$ZEROD_PID" ] || fail "run lock holds '$(cat "$T/run/zerod.lock")', not $ZEROD_PID"
log "c1 (pid $pid) answers on $ip; the storage daemon is pid $qsd; zerod $ZEROD_PID holds both locks"

# second STATE RUN NAME: a zerod on those directories in the same namespace, as a second
# quickstart would start one; it must exit within a second, non-zero, naming pid and directory.
second() {
  local state=$1 run=$2 name=$3 held=$4 rc=0 t0 ms
  t0=$(date +%s%N)
  timeout 10 nsenter --net="/run/netns/$NETNS" "$ZEROD" --state-dir "$state" --run-dir "$run" \
    --listen "unix:$run/zerod.sock" --plugin-dir "$ZERO_PLUGIN_DIR" --shim "$ZERO_SHIM" \
    >"$T/$name.log" 2>&1 || rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  [ "$rc" != 0 ] || fail "$name: a second zerod started on $held: $(cat "$T/$name.log")"
  [ "$rc" != 124 ] || fail "$name: a second zerod ran on $held for 10 s"
  [ "$ms" -lt 1000 ] || fail "$name: the second zerod took $ms ms to give up"
  [ "$(grep -c . "$T/$name.log")" = 1 ] || fail "$name: not one line: $(cat "$T/$name.log")"
  grep -q "another zerod (pid $ZEROD_PID) holds $held " "$T/$name.log" ||
    fail "$name: the line does not name pid $ZEROD_PID and $held: $(cat "$T/$name.log")"
  log "$name: exit $rc after $ms ms: $(cat "$T/$name.log")"
}
mkdir -p "$T/run2" "$T/state3"
second "$T/state" "$T/run2" same-state "$T/state"
second "$T/state3" "$T/run" same-run "$T/run"
[ ! -e "$T/run2/card" ] && [ ! -e "$T/run2/zerod.sock" ] || fail "the refused zerod made $(ls "$T/run2")"
[ ! -e "$T/state3/zero.db" ] && [ ! -e "$T/state3/card" ] || fail "the refused zerod made $(ls "$T/state3")"

# Nothing of the first one changed: same instance, pid, exports, links, storage daemon.
[ "$(snapshot)" = "$before" ] || fail "the node changed: $(diff <(echo "$before") <(snapshot))"
[ "$(qsd_pid)" = "$qsd" ] && alive "$qsd" || fail "the storage daemon changed: $qsd -> $(qsd_pid)"
alive "$pid" && [ "$(inst c1 pid)" = "$pid" ] && [ "$(inst c1 state)" = running ] || fail "c1 changed: $(cat "$BODY")"
answers after || fail "c1 no longer answers on $ip:7000"
log "the first zerod's instance, storage daemon, store and links are untouched"

# deploy/quickstart's check: names the holder while it runs, nothing once it is gone.
[ "$(zero_agent_holder "$T/state" "$T/run")" = "$ZEROD_PID" ] || fail "zero_agent_holder: '$(zero_agent_holder "$T/state" "$T/run")'"
act DELETE "/v1/instances/c1?force=true"
expect 204 DELETE /v1/networks/net1
stop_zerod
! zero_agent_holder "$T/state" "$T/run" >/dev/null || fail "zero_agent_holder names a stopped zerod"
start_zerod # a stopped zerod's lock files do not keep the next one out
[ "$(cat "$T/state/zerod.lock")" = "$ZEROD_PID" ] || fail "the new zerod does not hold the lock"
stop_zerod

# A listener that cannot be made (the second of two on one port) stops zerod at once with the
# reason; the listeners made before it are closed and freed (the sanitizers' leak check, which
# prints its report on stderr, finds nothing in the ASan tree) and their socket files removed.
mkdir -p "$T/state5" "$T/run5"
rc=0
timeout 20 nsenter --net="/run/netns/$NETNS" "$ZEROD" --state-dir "$T/state5" --run-dir "$T/run5" --insecure-tcp \
  --listen "unix:$T/run5/zerod.sock" --listen tcp:127.0.0.1:18555 --listen tcp:127.0.0.1:18555 \
  --plugin-dir "$ZERO_PLUGIN_DIR" --shim "$ZERO_SHIM" >"$T/listen.log" 2>&1 || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "a zerod with a listener it cannot make: exit $rc: $(cat "$T/listen.log")"
grep -q 'Failed to listen on tcp:127.0.0.1:18555' "$T/listen.log" || fail "no reason given: $(cat "$T/listen.log")"
! grep -q 'LeakSanitizer\|AddressSanitizer' "$T/listen.log" || fail "a listen error leaks: $(cat "$T/listen.log")"
[ ! -e "$T/run5/zerod.sock" ] || fail "the unix listener's socket file is left"
log "a listener that cannot be made: exit $rc, $(grep -o 'Failed to listen[^:]*:[^:]*:[0-9]*' "$T/listen.log" | head -1), nothing left open"
assert_nothing_left

#!/usr/bin/env bash
# A stopped qemu-storage-daemon blocks nothing (issue 11, item 7). A container runs on card
# volumes (its root and data1, host-block exports) and a VM on its root volume (vhost-user-blk).
# The daemon is stopped (SIGSTOP): it holds its connections but answers nothing, as a hung one
# would. While one client asks for what needs the daemon, another asks GET /v1/node and
# GET /v1/instances, each answered within LATENCY_MS:
#   - a resize of data1, the first change after the stop: the card's op waits for the daemon's QMP
#     timeout (10 s) off the loop, and the request answers 504 "timeout" naming the daemon within
#     FIRST_MS, the volume unchanged;
#   - the GETs of a volume answer 200: the VM's (the daemon's export) without their "stats" (best
#     effort: 25 ms, then, once the daemon has been silent for a second, at once), the
#     container's (raw volumes on the direct host path: a loop device over the file) with the
#     kernel's;
#   - a QoS change of the VM's volume fails cleanly: 504 "timeout" naming the daemon within
#     CALL_MS, the row unchanged (the driver first, then the row);
#   - c1's stop: its volumes are on the direct host path, which needs no daemon: it stops; were
#     they the daemon's, its processes could wait on its card (a process in D state dies only when
#     its read ends) and its cleanup's flush in a child times out (10 s): the stop would fail with
#     "timeout" within STOP_MS, or end after SIGCONT;
#   - the start of c0, a container stopped before (card_up: its root's export), succeeds: its
#     host block device needs no daemon (the card knows the daemon's state, view.c);
#   - a hot-plug of data2 into the VM (card_up: its export) fails with "timeout" or "unavailable"
#     within CALL_MS, the VM still running with one disk;
# After SIGCONT everything works again: stats, the resize, the QoS changes, c1's start,
# the hot-plug, a new container on a new export. The loop's stall is measured by the poller
# (its slowest answer is logged; what zerod waited in, when an answer was slow, is logged too).
# The same poller runs first with the daemon running: if even then an answer took half of
# LATENCY_MS (the load of other work on the machine: at a load of 15 on 2 cores answers of
# 50-500 ms come and go), 50 ms each cannot be judged and the check becomes: 95% within
# LATENCY_MS and all within 1 s (a loop held by the daemon delays most answers, and held for a
# QMP timeout, 10 s, all). Else 49 in 50 within LATENCY_MS (one preempted answer is the
# machine's, not the daemon's) and all within 1 s.
. "$(dirname "$0")/lib.sh"

LATENCY_MS=${LATENCY_MS:-50}
CALL_MS=${CALL_MS:-1000}
FIRST_MS=${FIRST_MS:-15000}
STOP_MS=${STOP_MS:-15000}
ms() { echo $(($(date +%s%N) / 1000000)); }
call() { # call METHOD PATH [JSON]: as api(), and CALL_S its time_total
  local args=(-sS --unix-socket "$SOCK" -o "$BODY" -w '%{http_code} %{time_total}\n' -X "$1" "http://zero$2")
  [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  read -r STATUS CALL_S < <(curl "${args[@]}")
}
quick() { awk -v s="$1" -v b="$2" 'BEGIN { exit !(s * 1000 <= b) }'; }
qsd_state() { awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
# op_ends ID [SECONDS]: waits (long-polls) for the operation's end, 30 s at most; OP_S the time
# waited, OP_STATUS and OP_CODE (its error's code) how it stands then
op_ends() {
  local t0 left=${2:-30}
  t0=$(ms)
  while :; do
    call GET "/v1/operations/$1?wait=$((left < 10 ? left : 10))"
    [ "$STATUS" = 200 ] || fail "GET operation $1: $STATUS $(cat "$BODY")"
    [ "$(jbody .status)" = running ] || break
    left=$((${2:-30} - ($(ms) - t0) / 1000))
    [ "$left" -gt 0 ] || break
  done
  OP_S=$(awk -v a="$t0" -v b="$(ms)" 'BEGIN { print (b - a) / 1000 }')
  OP_STATUS=$(jbody .status)
  OP_CODE=$(jbody .error.code)
}
# failed_cleanly WHAT: the operation just ended failed with timeout or unavailable, within CALL_MS
failed_cleanly() {
  [ "$OP_STATUS" = failed ] && { [ "$OP_CODE" = timeout ] || [ "$OP_CODE" = unavailable ]; } ||
    fail "$1 with the daemon stopped: $(cat "$BODY")"
  quick "$OP_S" "${2:-$CALL_MS}" || fail "$1 took $OP_S s to fail"
}

start_zerod_with_vm_image
act POST /v1/volumes '{"name":"data1","size_bytes":16777216}'
act POST /v1/volumes '{"name":"data2","size_bytes":16777216}'
cmd='echo START; while true; do sleep 1; done'
expect 202 POST /v1/instances "{\"name\":\"c0\",\"image\":\"bb\",\"command\":[\"/bin/sh\",\"-c\",$(jq -Rn --arg c "$cmd" '$c')]}"
wait_op "$(jbody .id)"
act POST /v1/instances/c0/stop '{"force":true}'
expect 202 POST /v1/instances "{\"name\":\"c1\",\"image\":\"bb\",\"command\":[\"/bin/sh\",\"-c\",$(jq -Rn --arg c "$cmd" '$c')],\"volumes\":[{\"name\":\"data1\",\"path\":\"/data\"}]}"
wait_op "$(jbody .id)"
wait_console c1 START
p1=$(inst c1 pid)
expect 202 POST /v1/instances "{\"name\":\"v1\",\"mode\":\"vm\",\"image\":\"bb\",\"memory_mib\":256,\"command\":[\"/bin/sh\",\"-c\",$(jq -Rn --arg c "$cmd" '$c')]}"
wait_op "$(jbody .id)"
wait_console v1 START 60
qemu=$(inst v1 pid)
# Stats are best effort (25 ms on the daemon): on a loaded machine one query may miss that, and
# the driver then waits for the daemon's next answer before it asks again. A running daemon
# answers one of a few tries within a few seconds.
for _ in $(seq 1 50); do
  expect 200 GET /v1/volumes/c1-root
  [ "$(jbody '.stats | type')" = object ] && break
  sleep 0.1
done
[ "$(jbody '.stats | type')" = object ] || fail "c1-root has no stats with the daemon running: $(cat "$BODY")"
qsd=$(qsd_pid)
alive "$qsd" || fail "no qemu-storage-daemon running (pid '$qsd')"
log "c1 ($p1) runs on c1-root and data1, v1 (QEMU $qemu) on v1-root; qemu-storage-daemon is $qsd"

poller() { # GET /v1/node and GET /v1/instances in turn until $T/stop: "END_MS PATH SECONDS" each
  local path
  while [ ! -e "$T/stop" ]; do
    for path in /v1/node /v1/instances; do
      curl -sf --unix-socket "$SOCK" -o /dev/null -w "%{time_total}\n" "http://zero$path" |
        sed "s|^|$(ms) $path |" >>"$T/latency" || { echo "FAILED $path" >>"$T/latency"; return; }
    done
    sleep 0.01
  done
}
sampler() { # what zerod waits in, every 20 ms: "MS STATE WCHAN"
  while [ ! -e "$T/stop" ]; do
    echo "$(ms) $(qsd_state "$ZEROD_PID") $(cat "/proc/$ZEROD_PID/wchan" 2>/dev/null)" >>"$T/samples"
    sleep 0.02
  done
}

# The same with the daemon running, for comparison (logged only: the machine's own noise).
poller &
POLLER=$!
for _ in $(seq 1 10); do api GET /v1/volumes/c1-root; sleep 0.05; done
touch "$T/stop"
wait "$POLLER"
base_max=$(awk '{print $3}' "$T/latency" | sort -n | tail -1)
log "daemon running: $(grep -c . "$T/latency") GETs of /v1/node and /v1/instances, the slowest $base_max s"
rm -f "$T/stop" "$T/latency"

# A failure while it is stopped must not leave it so: every loop device over its exports would
# hang whoever asks for its status (losetup -a in lib.sh's cleanup among them).
STOPPED=
# set +e first: under lib.sh's set -e a trap's failing command ends the shell, and (exit $rc) of a
# failed test did, before cleanup: zerod, its daemon and a VM were left running.
trap 'rc=$?; set +e; [ -z "$STOPPED" ] || kill -CONT "$STOPPED" 2>/dev/null; (exit $rc); cleanup' EXIT
STOPPED=$qsd
# Whatever becomes of the test (ctest kills it at its timeout, without its EXIT trap), the daemon
# runs again within 3 minutes: other agents' loop devices over it would hang too.
setsid -f sh -c "sleep 180; kill -CONT $qsd" >/dev/null 2>&1
kill -STOP "$qsd"
for _ in $(seq 1 100); do [ "$(qsd_state "$qsd")" = T ] && break; sleep 0.01; done
[ "$(qsd_state "$qsd")" = T ] || fail "qemu-storage-daemon $qsd did not stop"
poller &
POLLER=$!
sampler &
SAMPLER=$!
sleep 0.3
t0=$(ms)

# The first change after the stop: its QMP call waits out its timeout, not on the loop.
call POST /v1/volumes/data1/resize '{"size_bytes":33554432}'
{ [ "$STATUS" = 504 ] && [ "$(jbody .error.code)" = timeout ]; } || { [ "$STATUS" = 503 ] && [ "$(jbody .error.code)" = unavailable ]; } ||
  fail "a resize with the daemon stopped: $STATUS $(cat "$BODY")"
jbody .error.message | grep -q qemu-storage-daemon || fail "the resize's error does not name the daemon: $(cat "$BODY")"
quick "$CALL_S" "$FIRST_MS" || fail "the resize took $CALL_S s to fail"
resize_s=$CALL_S
expect 200 GET /v1/volumes/data1
[ "$(jbody .size_bytes)" = 16777216 ] || fail "a resize that failed was recorded: $(cat "$BODY")"

# c1-root and data1 are raw volumes on the direct host path (a loop device over the file): their
# stats are the kernel's, the daemon is not asked. v1-root is the daemon's (vhost-user-blk).
worst=0
for i in $(seq 1 7); do
  for v in c1-root data1 v1-root; do
    call GET "/v1/volumes/$v"
    [ "$STATUS" = 200 ] || fail "GET $v with the daemon stopped: $STATUS $(cat "$BODY")"
    if [ "$v" = v1-root ]; then
      [ "$(jbody '.stats')" = null ] || fail "GET $v has stats from a stopped daemon: $(cat "$BODY")"
    else
      [ "$(jbody '.stats | type')" = object ] || fail "GET $v (direct host path) has no stats: $(cat "$BODY")"
    fi
    worst=$(awk -v a="$worst" -v b="$CALL_S" 'BEGIN { print (b > a ? b : a) }')
    sleep 0.05
  done
done
call PUT /v1/volumes/v1-root/qos '{"iops":100}'
[ "$STATUS" = 504 ] && [ "$(jbody .error.code)" = timeout ] || fail "QoS with the daemon stopped: $STATUS $(cat "$BODY")"
jbody .error.message | grep -q qemu-storage-daemon || fail "the timeout does not name the daemon: $(cat "$BODY")"
quick "$CALL_S" "$CALL_MS" || fail "the QoS change took $CALL_S s to fail"
qos_s=$CALL_S
expect 200 GET /v1/volumes/v1-root
[ "$(jbody .qos.iops)" = 0 ] || fail "a QoS change that failed was recorded: $(cat "$BODY")"

# c1's stop: its cleanup's flush (a child) and its exports' return (card_down) wait on the card.
expect 202 POST /v1/instances/c1/stop '{"force":true}'
stop_op=$(jbody .id)
op_ends "$stop_op" $((STOP_MS / 1000))
stop_s=$OP_S
if [ "$OP_STATUS" = running ]; then
  stop_s="not yet ($(jbody .step))" # its processes wait on the card: it ends after SIGCONT
elif [ "$OP_STATUS" = succeeded ]; then
  stop_s="$OP_S (stopped: its exports are the direct host path's, no daemon)"
else
  failed_cleanly "c1's stop" "$STOP_MS"
fi
# c0's start asks the card for its root's export (card_up): a raw volume's host block device is a
# direct loop device over its file, which the daemon has no part in: c0 starts.
expect 202 POST /v1/instances/c0/start
op_ends "$(jbody .id)"
[ "$OP_STATUS" = succeeded ] || fail "c0's start with the daemon stopped: $(cat "$BODY")"
start_s=$OP_S
[ "$(inst c0 state)" = running ] || fail "c0 after its start: $(cat "$BODY")"

# A hot-plug into the running VM: its export is asked for first (card_up), and fails.
expect 202 POST /v1/instances/v1/volumes '{"name":"data2","path":"/data2"}'
op_ends "$(jbody .id)"
failed_cleanly "the hot-plug of data2 into v1"
plug_s=$OP_S
[ "$(inst v1 state)" = running ] && [ "$(inst v1 pid)" = "$qemu" ] || fail "v1 did not keep running: $(cat "$BODY")"
[ "$(jbody '.volumes | length')" = 1 ] || fail "v1 lists a volume whose hot-plug failed: $(cat "$BODY")"

sleep 0.3
t1=$(ms)
touch "$T/stop"
wait "$POLLER" "$SAMPLER"
! grep -q FAILED "$T/latency" || fail "a GET failed while the daemon was stopped: $(grep FAILED "$T/latency")"
during=$(awk -v a="$t0" -v b="$t1" '$1 > a && $1 <= b' "$T/latency" | grep -c . || true)
max=$(awk '{print $3}' "$T/latency" | sort -n | tail -1)
slow=$(awk -v b="$LATENCY_MS" '$3 * 1000 > b' "$T/latency")
log "daemon stopped: resize 504 in $resize_s s (the first change), 20 volume GETs (the slowest $worst s, no stats)," \
  "QoS 504 in $qos_s s; c1's stop: $stop_s s, c0 started in $start_s s, v1's hot-plug in $plug_s s;" \
  "$(grep -c . "$T/latency") GETs of /v1/node and /v1/instances ($during meanwhile), the slowest $max s"
if [ -n "$slow" ]; then # where zerod was while an answer was slow: not in epoll is what held it
  log "where zerod waited (20 ms samples) other than its loop's epoll:" \
    "$(awk '$3 != "do_epoll_wait" && $3 != "ep_poll" && $3 != "0" {print $2, $3}' "$T/samples" | sort | uniq -c |
      sort -rn | head -5 | tr -s ' ' | tr '\n' ';')"
fi
[ "$during" -ge 10 ] || fail "only $during GETs of /v1/node and /v1/instances answered meanwhile"
if awk -v s="$base_max" -v b="$LATENCY_MS" 'BEGIN { exit !(s * 2000 < b) }'; then
  # One answer in 50 past LATENCY_MS is the machine's (a preempted zerod, at a load of 10 on two
  # cores: 88 ms once among 435); a loop held by the stopped daemon holds every answer meanwhile
  # (a QMP call: 25 ms to 10 s, for each of the ops above), and none may take a second.
  n=$(grep -c . "$T/latency")
  n_slow=$(echo "$slow" | grep -c . || true)
  [ "$n_slow" -le $((n / 50)) ] ||
    fail "$n_slow of $n GETs took more than $LATENCY_MS ms while the daemon was stopped: $(echo "$slow" | head -5)"
  quick "$max" 1000 || fail "a GET took $max s while the daemon was stopped"
else
  n=$(grep -c . "$T/latency")
  p95=$(awk '{print $3}' "$T/latency" | sort -n | awk -v n="$n" 'NR == int(n * 0.95 + 0.999) {print; exit}')
  log "the machine is loaded (an answer took $base_max s with the daemon running): 95% within $LATENCY_MS ms" \
    "(the 95th: $p95 s), all within 1 s"
  quick "$p95" "$LATENCY_MS" || fail "the 95th of $n GETs took $p95 s while the daemon was stopped"
  quick "$max" 1000 || fail "a GET took $max s while the daemon was stopped"
fi
quick "$worst" "$CALL_MS" || fail "a volume GET took $worst s"
grep -q "does not answer QMP" "$T/zerod.log" || fail "zerod did not log the stalled daemon"

kill -CONT "$qsd"
STOPPED=
ok=
for _ in $(seq 1 50); do
  api GET /v1/volumes/c1-root
  [ "$STATUS" = 200 ] && [ "$(jbody '.stats | type')" = object ] && { ok=1; break; }
  sleep 0.1
done
[ -n "$ok" ] || fail "no stats after SIGCONT: $(cat "$BODY")"
[ "$(jbody .stats.write_ops)" -ge 0 ] || fail "c1-root's stats: $(cat "$BODY")"
expect 200 POST /v1/volumes/data1/resize '{"size_bytes":33554432}'
[ "$(jbody .size_bytes)" = 33554432 ] || fail "resize after SIGCONT: $(cat "$BODY")"
expect 200 PUT /v1/volumes/data1/qos '{"iops":100}'
[ "$(jbody .qos.iops)" = 100 ] || fail "QoS after SIGCONT: $(cat "$BODY")"
op_ends "$stop_op" 60 # ended already, or once c1's processes could die
[ "$OP_STATUS" != running ] || fail "c1's stop did not end after SIGCONT: $(cat "$BODY")"
alive "$p1" && fail "c1's process $p1 outlived its stop"
act POST /v1/instances/c1/start
[ "$(inst c1 state)" = running ] || fail "c1 after SIGCONT: $(cat "$BODY")"
expect 200 PUT /v1/volumes/v1-root/qos '{"iops":100}'
[ "$(jbody .qos.iops)" = 100 ] || fail "v1-root's QoS after SIGCONT: $(cat "$BODY")"
act POST /v1/instances/v1/volumes '{"name":"data2","path":"/data2"}'
[ "$(inst v1 'volumes[] | select(.name=="data2") | .export.kind')" = vhost-user-blk ] ||
  fail "data2 is not plugged into v1 after SIGCONT: $(cat "$BODY")"
expect 202 POST /v1/instances "{\"name\":\"c2\",\"image\":\"bb\",\"command\":[\"/bin/sh\",\"-c\",$(jq -Rn --arg c "$cmd" '$c')]}"
wait_op "$(jbody .id)"
wait_console c2 START
[ "$(qsd_pid)" = "$qsd" ] || fail "the daemon was replaced ($(qsd_pid), was $qsd)"
grep -q "answers again" "$T/zerod.log" || fail "zerod did not log the daemon's return"
log "after SIGCONT: stats, the resize, QoS, c1's start, v1's hot-plug and a new container's export work; the same daemon ($qsd)"

act DELETE "/v1/instances/c0?force=true"
act DELETE "/v1/instances/c1?force=true"
act DELETE "/v1/instances/c2?force=true"
act DELETE "/v1/instances/v1?force=true"
act DELETE /v1/volumes/data1
act DELETE /v1/volumes/data2
stop_zerod
assert_nothing_left

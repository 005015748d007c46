#!/usr/bin/env bash
# The lab (issue 13 item 5), one boot of `deploy/lab up` for four things the host VM makes real:
#   - limits are enforced: GET /v1/node says cgroups_enforced; a container with memory_mib 32 that
#     allocates 64 MiB is OOM-killed (exit code 137 in its row and in its instance.state event,
#     the host kernel's memory-cgroup OOM line on the host's console); cpus 1 reads "100000
#     100000" in its cpu.max;
#   - hot-plug: a data volume made on the card, written on the card's side (fio and the libraries
#     it needs from Debian's fio package, and a marker file: mkfs.ext4 -d over the volume's raw
#     file, which the host never saw), attached to a stopped container and the container started:
#     the card presents it to the running host (QEMU's device appears, a hot-plug, not a cold
#     command line), the container reads the marker and runs fio from it;
#   - QoS set on the card holds inside the container: `zeroctl volume qos bench --iops 100` (zerod's
#     lab driver sets it on the card's storage daemon), and fio's 4 KiB random writes with O_DIRECT
#     (libaio, 8 in flight) on that volume in the container do 100 IOPS within 10 %, while the
#     same fio on the unlimited volume does 1.5 times that at least; figures: fio on a card-presented disk in the
#     container vs the same fio on a file of the card's pool (this machine);
#   - kill -9 of zerod inside the host (the card's maintenance port, host-init's kill-zerod
#     verb): the container keeps running (same pid, its console goes on ticking), host-init
#     starts zerod again, which adopts it: it answers running, and a stop through it works.
# Then `deploy/lab down` leaves nothing. Debian packages: those of tests/lab/card.sh, and fio and
# e2fsprogs (mkfs.ext4 -d) on the card's side.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"
for tool in fio mkfs.ext4 ldd; do
  command -v "$tool" >/dev/null || fail "$tool is missing (Debian packages: fio e2fsprogs libc-bin)"
done
# fio sees less than the limit: under 50 IOPS it did 47, 47 and 48, under 25 22, under 100 93 (a
# load of 8-11). The card's limit counts every I/O on the volume, the filesystem's own too (its
# journal, the file's mtime), which fio does not see; that the shortfall is all of that is not
# shown. At 100 it was within the 10 %, at 25 not.
QOS_IOPS=100

# --- up: limits enforced -------------------------------------------------------------------------
export ZERO_LAB_MAINTENANCE=true
lab_up
log "deploy/lab up: $UP_MS ms"
expect 200 GET /v1/node
[ "$(jbody .features.cgroups_enforced)" = true ] || fail "GET /v1/node: cgroups_enforced is not true: $(cat "$BODY")"
zeroctl image import bb "$ZERO_BUILD_DIR/lab/busybox/rootfs" >/dev/null || fail "zeroctl image import failed"

expect 202 POST /v1/instances '{"name":"oom","image":"bb","memory_mib":32,"command":["/bin/sh","-c","cat /sys/fs/cgroup/memory.max; exec dd if=/dev/zero of=/dev/null bs=64M count=1"]}'
wait_op "$(jbody .id)"
for _ in $(seq 1 300); do [ "$(inst oom state)" = stopped ] && break; sleep 0.1; done
[ "$(inst oom state)" = stopped ] || fail "oom is $(inst oom state), not stopped"
[ "$(inst oom exit_code)" = 137 ] || fail "the 64 MiB allocation in 32 MiB ended with $(inst oom exit_code), not 137 (SIGKILL)"
wait_console oom 33554432
expect 200 GET "/v1/events?instance=oom&limit=1000"
jq -e '[.events[] | select(.type == "instance.state" and .data.state == "stopped" and .data.exit_code == 137)] | length == 1' \
  "$BODY" >/dev/null || fail "no instance.state event says oom stopped with exit code 137: $(cat "$BODY")"
host_console 20000 | grep -q 'Memory cgroup out of memory: Killed process [0-9]* (dd)' ||
  fail "the host's kernel did not report the memory cgroup's OOM kill of dd"
log "limits: cgroups_enforced; oom: memory.max 33554432, exit code 137 (row and event), $(host_console 20000 | grep -o 'Memory cgroup out of memory: Killed process [0-9]* (dd)' | tail -n 1)"

# --- hot-plug: a volume written on the card, attached to a stopped container ---------------------
# The container: what it finds in /tools (nothing at first), its cpu.max, then fio when it has it
# (the limited volume first, then the unlimited one, then a figure's three runs), then a tick a
# second for the kill -9 below.
# shellcheck disable=SC2016 # the container's shell expands these
CMD='echo "cpu.max: $(cat /sys/fs/cgroup/cpu.max)"; echo "marker: $(cat /tools/marker 2>/dev/null)"
if [ -x /tools/fio ]; then
  f() { n=$1; shift; /tools/fio --name="$n" --bs=4k --direct=1 --ioengine=psync --size=32M --output-format=terse --terse-version=3 "$@" | sed "s/^/fio $n /"; }
  f qos --filename=/bench/f --rw=randwrite --ioengine=libaio --iodepth=8 --time_based --runtime=8 --ramp_time=2
  f free --filename=/tools/f --rw=randwrite --ioengine=libaio --iodepth=8 --time_based --runtime=4 --ramp_time=1
  f rr --filename=/tools/f --rw=randread --time_based --runtime=4
  f sw --filename=/tools/f --rw=write --bs=1M --size=64M
  rm -f /tools/f /bench/f; echo fio-done
fi
trap "exit 0" TERM; i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 1; done'
expect 202 POST /v1/volumes '{"name":"tools","size_bytes":268435456}'
wait_op "$(jbody .id)"
expect 202 POST /v1/volumes '{"name":"bench","size_bytes":67108864}'
wait_op "$(jbody .id)"
TOOLS_ID=$(zeroctl volume show tools | awk '$1 == "id:" { print $2 }')
BENCH_ID=$(zeroctl volume show bench | awk '$1 == "id:" { print $2 }')
{ [ -n "$TOOLS_ID" ] && [ -n "$BENCH_ID" ]; } || fail "zeroctl volume show gave no ids"
jq -n --arg cmd "$CMD" '{name:"hp",image:"bb",cpus:1,memory_mib:256,volumes:[{name:"bench",path:"/bench"}],command:["/bin/sh","-c",$cmd]}' >"$T/hp.json"
t0=$(now_ms)
expect 202 POST /v1/instances "$(cat "$T/hp.json")"
wait_op "$(jbody .id)"
create_ms=$(($(now_ms) - t0))
wait_console hp tick 30
api GET /v1/instances/hp/console
grep -q '^cpu.max: 100000 100000$' "$BODY" || fail "hp (cpus 1) does not read its quota in cpu.max: $(cat "$BODY")"
grep -q '^marker: $' "$BODY" || fail "hp found a marker before the tools volume was attached: $(cat "$BODY")"
log "cpus 1: $(grep '^cpu.max' "$BODY"); a container's create in the lab (its root a clone of the image the card has): $create_ms ms"
# The QoS, set while hp runs on the bench volume: the card's storage daemon takes it live, and
# the card keeps it for the volume's next presentation (hp's start below, where fio measures).
zeroctl volume qos bench --iops $QOS_IOPS >/dev/null || fail "zeroctl volume qos bench --iops $QOS_IOPS failed"
[ "$(op GET "/v1/volumes/$BENCH_ID" | jq -r .qos_iops)" = $QOS_IOPS ] || fail "the card's bench volume has no IOPS limit: $(op GET "/v1/volumes/$BENCH_ID")"
zeroctl stop hp >/dev/null || fail "zeroctl stop hp failed"

# The tools volume's content, made on the card's side: fio and every library ldd names (with the
# loader, which runs it: no library path of the container's is needed), as mkfs.ext4 -d lays
# them into the volume's raw file, whose size stays. The host has never seen the volume.
presented "$TOOLS_ID" && fail "the card presents the tools volume before anything asked for it"
RAW=$LAB/state/softcard/pool/volumes/$TOOLS_ID.raw # in the card's pool (the XFS image it mounts)
[ -f "$RAW" ] || fail "the card keeps no raw file $RAW for the tools volume"
mkdir -p "$T/tools/lib" "$T/tools/bin"
cp /usr/bin/fio "$T/tools/bin/fio"
LC_ALL=C ldd /usr/bin/fio | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r l; do
  cp -L "$l" "$T/tools/lib/" || exit 1
done || fail "cannot copy fio's libraries"
[ -f "$T/tools/lib/ld-linux-x86-64.so.2" ] || fail "ldd named no loader for fio"
# shellcheck disable=SC2016 # the wrapper's shell expands these
printf '#!/bin/sh\nd=${0%%/*}\nexec "$d/lib/ld-linux-x86-64.so.2" --library-path "$d/lib" "$d/bin/fio" "$@"\n' >"$T/tools/fio"
chmod 0755 "$T/tools/fio"
MARK=card-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
echo "$MARK" >"$T/tools/marker"
mkfs.ext4 -q -F -d "$T/tools" -E root_owner=0:0 "$RAW" || fail "mkfs.ext4 -d on the card's raw file failed"
rm -rf "$T/tools"
log "the tools volume written on the card's side: fio $(fio --version) and its libraries, marker $MARK"

zeroctl attach-volume hp tools --path /tools >/dev/null || fail "zeroctl attach-volume hp tools (hp stopped) failed"
presented "$TOOLS_ID" && fail "the card presents the tools volume to the host while hp is stopped"
plugged disk "$TOOLS_ID" && fail "the host's QEMU has the tools volume's disk while hp is stopped"
[ "$(op GET /v1/host | jq -r .power)" = running ] || fail "the host is not running"
zeroctl start hp >/dev/null || fail "zeroctl start hp failed"
presented "$TOOLS_ID" || fail "the card does not present the tools volume after hp's start"
plugged disk "$TOOLS_ID" || fail "the running host's QEMU has no disk of the tools volume (no hot-plug)"
wait_console hp "^marker: $MARK" 30
log "hot-plug: the tools volume presented to the running host at hp's start, hp reads the card's marker"

# --- QoS and the figures ------------------------------------------------------------------------
wait_console hp fio-done 150
api GET /v1/instances/hp/console
cp "$BODY" "$T/fio.out"
# fio_field JOB N: field N of fio's terse (v3) line of JOB, which the container prefixed with
# "fio JOB ": 7 and 8 read KB/s and IOPS, 48 and 49 write KB/s and IOPS (fio's HOWTO).
fio_field() { awk -F';' -v j="fio $1 3" -v f="$2" '$1 == j { print $f }' "$3"; }
for j in qos free rr sw; do
  [ -n "$(fio_field $j 49 "$T/fio.out")" ] || fail "hp's fio $j said no result: $(cat "$T/fio.out")"
done
qos=$(fio_field qos 49 "$T/fio.out")
free=$(fio_field free 49 "$T/fio.out")
# Within 10 % of the limit, and the unlimited volume well above it (1.5 times): else the limit
# proved nothing. Eight writes in flight (libaio): the throttle, not the path's latency, sets the
# pace. With one at a time (psync) a TCG guest at a load of 11 did 43 IOPS under a limit of 50:
# each write's own time, at 20 ms apart, left the throttle's bucket idle.
awk -v q="$qos" -v l=$QOS_IOPS 'BEGIN { exit !(q >= l * 0.9 && q <= l * 1.1) }' ||
  fail "fio on the bench volume (limit $QOS_IOPS IOPS) did $qos IOPS: not within 10 %"
awk -v f="$free" -v l=$QOS_IOPS 'BEGIN { exit !(f >= 1.5 * l) }' ||
  fail "fio on the unlimited tools volume did $free IOPS, not 1.5 times the limit: the limit is not what held the bench volume"
log "QoS: iops $QOS_IOPS set on the card; fio 4 KiB random writes O_DIRECT in the container: $qos IOPS (limited), $free IOPS (the unlimited volume)"

# The same fio runs on a file of the card's pool, on this machine (what the card's daemon writes).
pool=$LAB/state/softcard/pool/volumes
fcard() {
  local n=$1
  shift
  fio --name="$n" --bs=4k --direct=1 --ioengine=psync --size=32M --output-format=terse --terse-version=3 \
    --filename="$pool/fio.$n" "$@" | sed "s/^/fio $n /" >>"$T/fio.card" || fail "fio $n on the card's pool failed"
}
fcard free --rw=randwrite --ioengine=libaio --iodepth=8 --time_based --runtime=4 --ramp_time=1
fcard rr --rw=randread --time_based --runtime=4
fcard sw --rw=write --bs=1M --size=64M
rm -f "$pool"/fio.*
figs() { echo "4k randwrite (libaio, depth 8) $(fio_field free 49 "$1") IOPS, 4k randread $(fio_field rr 8 "$1") IOPS, 1M write $(($(fio_field sw 48 "$1") / 1024)) MiB/s"; }
log "fio (O_DIRECT; psync but where said) in the container on a card-presented disk: $(figs "$T/fio.out")"
log "fio (O_DIRECT; psync but where said) on a file of the card's pool (this machine): $(figs "$T/fio.card")"

# --- kill -9 of zerod in the host ----------------------------------------------------------------
expect 200 GET /v1/instances/hp
PID=$(jbody .pid)
{ [ -n "$PID" ] && [ "$PID" != null ]; } || fail "hp has no pid: $(cat "$BODY")"
ZPID=$(maint zerod-pid)
case $ZPID in "ok "[0-9]*) ;; *) fail "the maintenance port's zerod-pid said: $ZPID" ;; esac
[ "$(maint rm -rf /)" = "error unknown request (verbs: zerod-pid, kill-zerod KILL|TERM)" ] ||
  fail "the maintenance port took an unknown request"
api GET /v1/instances/hp/console
ticks_before=$(grep -c '^tick ' "$BODY")
t0=$(now_ms)
ans=$(maint kill-zerod KILL)
[ "$ans" = "$ZPID" ] || fail "kill-zerod KILL said '$ans', not '$ZPID'"
# zerod is gone: nothing answers until host-init has started it again (1 s) and it is ready.
sleep 0.5
curl -s -m 2 -o /dev/null --cacert "$ZERO_CACERT" -H "Authorization: Bearer $ZERO_TOKEN" "$ZERO_URL/v1/node" &&
  fail "zerod answered 0.5 s after its kill -9"
zerod_ready_after "$t0" 120
# The console's tail kept in a file first: a grep -q that stops at its match makes the writers of
# a pipe die of SIGPIPE, which pipefail reports as a failure (the new zerod's start logs a few KiB
# after host-init's line, and a longer tail than one pipe write).
host_console 200000 >"$T/console.tail"
grep -aq "zerod exited with status 137: starting it again" "$T/console.tail" ||
  fail "host-init did not see zerod die of SIGKILL"
ZPID2=$(maint zerod-pid)
[ "$ZPID2" != "$ZPID" ] || fail "zerod has the pid it had before the kill -9"
expect 200 GET /v1/instances/hp
[ "$(jbody .state)" = running ] || fail "hp is $(jbody .state) after zerod's kill -9, not running: $(cat "$BODY")"
[ "$(jbody .pid)" = "$PID" ] || fail "hp's pid was $PID, now $(jbody .pid)"
wait_console hp "^tick $((ticks_before + 3))\$" 20
log "kill -9 of zerod (pid ${ZPID#ok }) in the host: ready again in $READY_MS ms (pid ${ZPID2#ok }), hp adopted (running, pid $PID, ticking)"
zeroctl stop hp >/dev/null || fail "zeroctl stop hp through the new zerod failed"
[ "$(inst hp state)" = stopped ] || fail "hp is $(inst hp state) after its stop"
presented "$TOOLS_ID" && fail "the card still presents the tools volume after hp's stop"

# --- down ----------------------------------------------------------------------------------------
lab_down_clean
log "deploy/lab down: $DOWN_MS ms; nothing of the lab is left"
echo PASS

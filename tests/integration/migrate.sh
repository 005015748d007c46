#!/usr/bin/env bash
# Live migration between two nodes (migrate_lib.sh): a VM with a root volume, a data volume and a
# NIC goes from A to B and back. What it wrote before is read after (from disk: the guest drops
# its caches), a counter it keeps on the data volume carries on across both moves, its MAC and IP
# stay, a peer pinging it every 5 ms through the whole migration loses at most a few pings (each
# migration's lost pings and longest gap are printed), and the node it left keeps nothing of it.
# The operation shows its progress while it runs and QEMU's downtime once done; zeroctl migrate
# shows both.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/migrate_lib.sh"

: "${ZEROCTL:?ZEROCTL must point at the zeroctl binary (set by ctest)}"
: "${ZERO_PINGER:?ZERO_PINGER must point at zero-test-pinger (set by ctest)}"
two_nodes
node A
act POST /v1/volumes '{"name":"data1","size_bytes":67108864}'

# The guest writes a file on each disk once, then every 6 s: drops its caches, reads both files
# from disk, bumps a counter kept on the data volume, syncs, and prints all that with its MAC and
# address; then it is quiet (no disk I/O) until the next round. Each migration starts right after
# a round (move), so that the next round, on the target, reads the files from the shared volumes
# afresh and bumps the counter the test compares.
# shellcheck disable=SC2016 # expanded in the guest
cmd='mkdir -p /data && mount -t ext4 /dev/vdb /data || exit 1
[ -f /data/hello ] || { echo "written on A" > /data/hello; echo "root file" > /root-file; echo 0 > /data/count; sync; }
while :; do
  sync; echo 3 > /proc/sys/vm/drop_caches
  c=$(( $(cat /data/count) + 1 )); echo $c > /data/count; sync
  h=$(cat /data/hello); r=$(cat /root-file); m=$(cat /sys/class/net/eth0/address); a=$(ip -4 -o addr show eth0 | awk "{print \$4}")
  echo "TICK $c [$h] [$r] $m $a"
  sleep 6
done'
expect 202 POST /v1/instances "{\"name\":\"mv\",\"mode\":\"vm\",\"image\":\"bb\",\"memory_mib\":256,\"volumes\":[{\"name\":\"data1\",\"path\":\"/data\"}],\"nics\":[{\"network\":\"net1\"}],\"command\":[\"/bin/sh\",\"-c\",$(jq -Rn --arg c "$cmd" '$c')]}"
wait_op "$(jbody .id)"
expect 200 GET /v1/instances/mv
id=$(jbody .id)
mac=$(jbody '.nics[0].mac')
ip=$(jbody '.nics[0].ip')
wait_console mv "TICK 2 \[written on A\] \[root file\] $mac $ip/24" 90
log "mv runs on A: $mac $ip"
in_p "$ZERO_PINGER" "$ip" 100 2 >"$T/ping0" || fail "the pinger failed"
grep -q 'received [1-9]' "$T/ping0" || fail "the peer cannot ping mv on A: $(cat "$T/ping0")"

# ticks NODE: the last counter the guest printed on that node's console
last_tick() {
  node "$1"
  api GET /v1/instances/mv/console
  tr -d '\r' <"$BODY" | grep '^TICK ' | tail -1 | awk '{print $2}'
}

# move TO: migrates mv to node TO, the peer pinging it every 5 ms across the switchover; checks the operation, the
# guest on TO and what is left where it was.
move() {
  local to=$1 from ping_log before progress=0 lost gap
  from=$([ "$to" = B ] && echo A || echo B)
  # right after a round of the guest's: the migration is done before the next
  before=$(last_tick "$from")
  for _ in $(seq 1 150); do
    [ "$(last_tick "$from")" -gt "$before" ] && break
    sleep 0.05
  done
  before=$(last_tick "$from")
  ping_log=$T/ping-$to.log
  # The peer pings every 5 ms through the whole migration, the transfer of the RAM included, until
  # after the target runs the guest: the longest gap it sees is the guest's. (Before zerod gave a
  # TCG guest a RAM block that is not a multiple of 256 KiB, QEMU 7.2 lost pages the vCPU wrote
  # during the transfer, and traffic then crashed the guest within 1 to 5 migrations:
  # plugins/vm/cmdline.h, ZERO_VM_TCG_RAM_PAD_KIB.)
  # nsenter execs the pinger (no fork for a network namespace): $! is the pinger itself, which a
  # TERM stops (a background job of a script ignores INT)
  nsenter --net="/run/netns/$NS_P" "$ZERO_PINGER" "$ip" 5 >"$ping_log" 2>&1 &
  local pinger=$!
  PINGER_PID=$pinger # for cleanup_two, should the test fail before it is stopped
  if [ "$to" = B ]; then
    migrate_to B mv
  else
    migrate_to A mv ",\"token\":\"$A_TOKEN\""
  fi
  [ "$(jbody .kind)" = migrate ] || fail "the migration's operation is $(jbody .kind)"
  # while it runs, the source says it migrates and the operation shows its progress
  [ "$(inst mv state)" = migrating ] || fail "mv is $(jbody .state) while it migrates"
  for _ in $(seq 1 2000); do
    api GET "/v1/operations/$MOP"
    [ "$(jbody .status)" = running ] || break
    if [ "$(jbody '.progress.ram_total_bytes // 0')" -gt 0 ]; then
      progress=1
      break
    fi
    sleep 0.01
  done
  wait_op "$MOP"
  sleep 1
  kill -TERM "$pinger"
  wait "$pinger" || fail "the pinger failed: $(cat "$ping_log")"
  [ "$progress" = 1 ] || log "(the migration ended before its progress showed)"
  expect 200 GET "/v1/operations/$MOP"
  log "$from -> $to: $(jbody '.steps | map("\(.step) \(.duration_us / 1000 | floor)") | join(", ")') ms; QEMU: downtime $(jbody .result.downtime_ms) ms, total $(jbody .result.total_ms) ms"
  [ "$(jbody '.result.downtime_ms | type')" = number ] || fail "the operation has no downtime: $(cat "$BODY")"
  # the guest on TO: same id, MAC and IP, running, its files read, the counter carried on
  node "$to"
  expect 200 GET /v1/instances/mv
  [ "$(jbody .id)" = "$id" ] && [ "$(jbody .state)" = running ] || fail "mv on $to: $(cat "$BODY")"
  [ "$(jbody '.nics[0].mac')" = "$mac" ] && [ "$(jbody '.nics[0].ip')" = "$ip" ] || fail "mv's NIC changed on $to: $(cat "$BODY")"
  [ "$(jbody '.volumes | map(.name) | sort | join(",")')" = "data1,mv-root" ] || fail "mv's volumes on $to: $(cat "$BODY")"
  wait_console mv "TICK [0-9]* \[written on A\] \[root file\] $mac $ip/24" 30
  # a round on TO: its files read from the volumes there, the counter carried on
  for _ in $(seq 1 300); do
    [ "$(last_tick "$to")" -gt "$before" ] && break
    sleep 0.1
  done
  local now
  now=$(last_tick "$to")
  [ "$now" -gt "$before" ] || fail "the counter on $to ($now) did not carry on from $from's ($before)"
  nothing_of "$from" mv
  # the pings: sent, answered, the time to the first answer and the longest gap
  lost=$(awk '{print $6}' "$ping_log")
  gap=$(awk '{printf "%d", ($10 > $8 ? $10 : $8)}' "$ping_log")
  log "$from -> $to: counter $before -> $now; pings: $(cat "$ping_log")"
  # "a few": a 5 ms pinger across a TCG guest's switchover on a shared 2-core machine, where
  # QEMU's own downtime alone was 200 ms at a load of 11; these bound what a broken
  # announcement would be: no answer until the bridges' entries for the MAC age out, 300 s
  [ "$lost" -le 200 ] || fail "the peer lost $lost pings"
  [ "$gap" -le 1000 ] || fail "the peer's pings saw a gap of $gap ms"
}

move B
move A
nothing_of B mv

# zeroctl: a live progress line, then QEMU's downtime (right after a round, as move does)
t0=$(last_tick A)
for _ in $(seq 1 150); do
  [ "$(last_tick A)" -gt "$t0" ] && break
  sleep 0.05
done
"$ZEROCTL" --url "unix:$T/a/zerod.sock" migrate mv "https://$IP_B:$PORT" >"$T/zeroctl.out" 2>&1 ||
  fail "zeroctl migrate failed: $(cat "$T/zeroctl.out")"
grep -q "downtime" "$T/zeroctl.out" || fail "zeroctl migrate did not show the downtime: $(cat "$T/zeroctl.out")"
log "zeroctl migrate: $(tail -1 "$T/zeroctl.out")"
nothing_of A mv
node B
wait_console mv "TICK [0-9]* \[written on A\] \[root file\] $mac $ip/24" 30

# refused: a stopped instance, an unknown target field, a container
node B
expect 422 POST /v1/instances/mv/migrate "{\"target\":\"ftp://x\"}"
expect 422 POST /v1/instances/mv/migrate "{\"target\":\"https://$IP_A:$PORT\",\"bogus\":1}"
expect 422 POST /v1/instances/mv/migrate "{\"target\":\"https://$IP_A:$PORT\",\"downtime_ms\":0}"
expect 404 POST /v1/instances/nosuch/migrate "{\"target\":\"https://$IP_A:$PORT\"}"
[ "$(inst mv state)" = running ] || fail "a refused migration changed mv: $(cat "$BODY")"

act DELETE "/v1/instances/mv?force=true"
act DELETE /v1/volumes/data1
[ -z "$(ls "$T/volumes")" ] || fail "volume files left: $(ls "$T/volumes")"
stop_node A
stop_node B
log "done"

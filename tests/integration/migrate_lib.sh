# Two nodes on this machine for the live migration tests. Sourced after lib.sh.
#
#   namespace A: zerod A, $T/a/{state,run}, API unix:$T/a/zerod.sock and https://10.251.0.1:8443
#   namespace B: zerod B, $T/b/{state,run}, API unix:$T/b/zerod.sock and https://10.251.0.2:8443
#   veth mga (A, 10.251.0.1) <-> mgb (B, 10.251.0.2): the nodes' link, for their APIs and QEMU's
#   migration stream ("the link")
#   network net1 (10.68.0.0/24) on both, its bridges zb-net1 joined by veth lka (A) <-> lkb (B)
#   namespace P: a peer on net1, veth peer0 (10.68.0.250) <-> lkp on A's bridge
#   $T/volumes: both softcards' [card] volumes_dir, the stand-in for remote block storage
#
# node A|B makes that node the one lib.sh's helpers (api, expect, act, wait_op, inst, ...) talk
# to. Each node's [migration] section points at the other: the other's certificate as ca_file,
# and A's token_file the token B made for it (B's migrations back to A pass a token in the
# request instead). Everything is removed on exit, even on failure.

SFX=$(basename "$T" | tr -dc 'a-zA-Z0-9' | tail -c 8)
NS_A=zma-$SFX NS_B=zmb-$SFX NS_P=zmp-$SFX
IP_A=10.251.0.1 IP_B=10.251.0.2 PORT=8443
PEER_IP=10.68.0.250
PID_A= PID_B=
CUR=

in_a() { nsenter --net="/run/netns/$NS_A" "$@"; }
in_b() { nsenter --net="/run/netns/$NS_B" "$@"; }
in_p() { nsenter --net="/run/netns/$NS_P" "$@"; }

# node A|B: lib.sh's helpers go to that node from now on.
node() {
  # keep the running node's pid where it belongs
  if [ "$CUR" = A ]; then PID_A=$ZEROD_PID; elif [ "$CUR" = B ]; then PID_B=$ZEROD_PID; fi
  CUR=$1
  case $1 in
  A) SOCK=$T/a/zerod.sock NETNS=$NS_A ZEROD_PID=$PID_A ;;
  B) SOCK=$T/b/zerod.sock NETNS=$NS_B ZEROD_PID=$PID_B ;;
  esac
}

two_nodes_netns() {
  local n
  for n in "$NS_A" "$NS_B" "$NS_P"; do
    ip netns add "$n" || fail "cannot create network namespace $n"
    ip -n "$n" link set lo up
  done
  ip link add mga netns "$NS_A" type veth peer mgb netns "$NS_B" || fail "cannot make the nodes' link"
  ip -n "$NS_A" addr add "$IP_A/24" dev mga
  ip -n "$NS_B" addr add "$IP_B/24" dev mgb
  ip -n "$NS_A" link set mga up
  ip -n "$NS_B" link set mgb up
  mkdir -p "$T/a" "$T/b" "$T/volumes"
}

# start_node A|B [zerod args...]: zerod of that node in its namespace, with its configuration.
start_node() {
  local n=$1 d ip other oip conf
  shift
  node "$n"
  d=$T/${n,,}
  if [ "$n" = A ]; then ip=$IP_A other=b oip=$IP_B; else ip=$IP_B other=a oip=$IP_A; fi
  conf=$d/zerod.conf
  {
    printf '[images]\nimport_dirs = %s\n' "$T"
    printf '[card]\nvolumes_dir = %s/volumes\n' "$T"
    printf '[migration]\nca_file = %s/%s/state/tls/server.crt\n' "$T" "$other"
    [ "$n" = A ] && printf 'token_file = %s/b.token\n' "$T"
    printf '%s\n' "${MIGRATE_CONF_EXTRA:-}"
  } >"$conf"
  nsenter --net="/run/netns/$NETNS" ${ZEROD_WRAPPER:-} "$ZEROD" --config "$conf" --state-dir "$d/state" \
    --run-dir "$d/run" --listen "unix:$SOCK" --listen "tcp:$ip:$PORT" --plugin-dir "$ZERO_PLUGIN_DIR" \
    --shim "$ZERO_SHIM" --log-level debug "$@" >>"$d/zerod.log" 2>&1 &
  ZEROD_PID=$!
  for _ in $(seq 1 200); do
    if curl -sf --unix-socket "$SOCK" http://zero/v1/node >/dev/null 2>&1; then return 0; fi
    kill -0 "$ZEROD_PID" 2>/dev/null || fail "zerod $n exited during start: $(tail -5 "$d/zerod.log")"
    sleep 0.05
  done
  fail "zerod $n did not answer within 10 s"
}

stop_node() { # stop_node A|B: graceful, as lib.sh's stop_zerod
  node "$1"
  stop_zerod
  node "$1"
}

crash_node() { # crash_node A|B: kill -9 of that zerod (its shims and QEMUs run on)
  node "$1"
  crash_zerod
  node "$1"
}

# two_nodes: both zerods, the image bb on both, net1 on both with its bridges joined, the peer.
two_nodes() {
  : "${ZERO_BUILD_DIR:?ZERO_BUILD_DIR must point at the build tree (set by ctest)}"
  two_nodes_netns
  ZERO_IMAGE_CACHE=${ZERO_IMAGE_CACHE:-$ZERO_BUILD_DIR/image-cache} \
    "$ZERO_SOURCE_DIR/deploy/images/build-busybox-image" "$T/img" >"$T/image.log" 2>&1 ||
    fail "image build failed: $(tail -5 "$T/image.log")"
  start_node B
  "$ZEROD" token create migrate --state-dir "$T/b/state" >"$T/b.token" 2>"$T/token.err" ||
    fail "no token on B: $(cat "$T/token.err")"
  start_node A
  A_TOKEN=$("$ZEROD" token create migrate --state-dir "$T/a/state" 2>>"$T/token.err") ||
    fail "no token on A: $(cat "$T/token.err")"
  for n in A B; do
    node "$n"
    act POST /v1/images "{\"name\":\"bb\",\"source\":\"$T/img/rootfs\",\"kernel\":\"$T/img/vmlinuz\",\"initrd\":\"$T/img/initrd.img\"}"
    expect 201 POST /v1/networks '{"name":"net1","subnet":"10.68.0.0/24"}'
  done
  ip link add lka netns "$NS_A" type veth peer lkb netns "$NS_B" || fail "cannot join the bridges"
  ip -n "$NS_A" link set lka master zb-net1 up
  ip -n "$NS_B" link set lkb master zb-net1 up
  ip link add lkp netns "$NS_A" type veth peer peer0 netns "$NS_P" || fail "cannot make the peer's link"
  ip -n "$NS_A" link set lkp master zb-net1 up
  ip -n "$NS_P" addr add "$PEER_IP/24" dev peer0
  ip -n "$NS_P" link set peer0 up
  log "two nodes: A ($IP_A) and B ($IP_B), net1 joined, a peer at $PEER_IP"
}

# ticking_vm: on A, the VM mv with a root volume, the data volume data1 (a file written there
# once) and a NIC on net1, printing "TICK N [the file] MAC" every 0.3 s; sets mac and ip.
ticking_vm() {
  node A
  act POST /v1/volumes '{"name":"data1","size_bytes":67108864}'
  # shellcheck disable=SC2016 # expanded in the guest
  local cmd='mkdir -p /data && mount -t ext4 /dev/vdb /data || exit 1
[ -f /data/hello ] || { echo "written on A" > /data/hello; sync; }
i=0; while :; do i=$((i+1)); echo "TICK $i [$(cat /data/hello)] $(cat /sys/class/net/eth0/address)"; sleep 0.3; done'
  expect 202 POST /v1/instances "{\"name\":\"mv\",\"mode\":\"vm\",\"image\":\"bb\",\"memory_mib\":256,\"volumes\":[{\"name\":\"data1\",\"path\":\"/data\"}],\"nics\":[{\"network\":\"net1\"}],\"command\":[\"/bin/sh\",\"-c\",$(jq -Rn --arg c "$cmd" '$c')]}"
  wait_op "$(jbody .id)"
  expect 200 GET /v1/instances/mv
  mac=$(jbody '.nics[0].mac')
  ip=$(jbody '.nics[0].ip')
  wait_console mv "TICK [0-9]* \[written on A\] $mac" 60
}

# migrate_crashing A|B POINT NAME: NAME migrates from A to B with that node's zerod restarted to
# die at the fault point POINT; returns once it died (its shims and QEMUs run on).
migrate_crashing() {
  local n=$1 point=$2 pid
  stop_node "$n"
  export ZERO_FAULT_POINT=$point
  start_node "$n"
  unset ZERO_FAULT_POINT
  migrate_to B "$3"
  node "$n"
  pid=$ZEROD_PID
  for _ in $(seq 1 600); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  ! kill -0 "$pid" 2>/dev/null || fail "zerod $n did not die at $point"
  wait "$pid" 2>/dev/null || true
  ZEROD_PID=""
  if [ "$n" = A ]; then PID_A=""; else PID_B=""; fi
}

# migrate_crashing_source NAME: the source's zerod dies right after the switchover.
migrate_crashing_source() {
  migrate_crashing A migrate.switchover.done "$1"
}

last_tick() { # the last counter the guest printed on the current node's console
  api GET /v1/instances/mv/console
  tr -d '\r' <"$BODY" | grep '^TICK ' | tail -1 | awk '{print $2}'
}

# ticks_after N: the guest on the current node prints a tick past N within 20 s
ticks_after() {
  for _ in $(seq 1 100); do
    [ "$(last_tick)" -gt "$1" ] && return 0
    sleep 0.2
  done
  return 1
}

# runs_on A|B NAME: NAME runs on that node within 60 s, with the file it wrote on A and its MAC
# ($mac) on its console
runs_on() {
  node "$1"
  for _ in $(seq 1 300); do
    [ "$(inst "$2" state)" = running ] && break
    sleep 0.2
  done
  [ "$(inst "$2" state)" = running ] || fail "$2 does not run on $1: $(cat "$BODY")"
  wait_console "$2" "TICK [0-9]* \[written on A\] $mac" 30
}

# gone_from A|B NAME: NAME's row goes from that node within 60 s (its half undone or forgotten),
# and nothing of it is left there (nothing_of)
gone_from() {
  for _ in $(seq 1 300); do
    node "$1"
    api GET "/v1/instances/$2"
    [ "$STATUS" = 404 ] && break
    sleep 0.2
  done
  nothing_of "$1" "$2"
}

# migrate_to A|B NAME [JSON extra members]: POST .../migrate on the node NAME is on (the other
# one), answered 202; sets MOP (the operation's id) and leaves the answer in $BODY.
migrate_to() {
  local to=$1 name=$2 extra=${3:-} url
  if [ "$to" = B ]; then node A; url=https://$IP_B:$PORT; else node B; url=https://$IP_A:$PORT; fi
  expect 202 POST "/v1/instances/$name/migrate" "{\"target\":\"$url\"$extra}"
  MOP=$(jbody .id)
}

# What a node left of an instance that went: no row, no volume rows, no QEMU of its run
# directory, no taps, no exports in its daemon.
nothing_of() { # nothing_of A|B NAME
  local n=$1 name=$2 d
  node "$n"
  d=$T/${n,,}
  api GET "/v1/instances/$name"
  [ "$STATUS" = 404 ] || fail "$name is still on $n: $(cat "$BODY")"
  expect 200 GET /v1/volumes
  [ "$(jbody "[.volumes[] | select(.name | startswith(\"$name\"))] | length")" = 0 ] ||
    fail "volumes of $name are still on $n: $(cat "$BODY")"
  ! pgrep -f "qemu-system.*$d/run" >/dev/null || fail "a QEMU of $n still runs: $(pgrep -af "qemu-system.*$d/run")"
  [ -z "$(ip -n "$NETNS" -o link show | grep ': zt-')" ] || fail "taps left on $n: $(ip -n "$NETNS" -o link show | grep zt-)"
  ! ls "$d/run/card/exports"/*.vhost >/dev/null 2>&1 || fail "exports left on $n: $(ls "$d/run/card/exports")"
}

cleanup_two() {
  local rc=$?
  set +e
  [ -n "$PID_A" ] && kill -9 "$PID_A" 2>/dev/null
  [ -n "$PID_B" ] && kill -9 "$PID_B" 2>/dev/null
  # a pinger of the test's (PINGER_PID): its command line does not name $T
  [ -n "${PINGER_PID:-}" ] && kill -9 "$PINGER_PID" 2>/dev/null
  [ -n "${KEEP:-}" ] && { echo "kept $T" >&2; exit $rc; }
  pkill -9 -f "$T/" 2>/dev/null
  for n in "$NS_A" "$NS_B" "$NS_P"; do ip netns del "$n" 2>/dev/null; done
  NETNS=
  (exit $rc)
  cleanup
}
trap cleanup_two EXIT

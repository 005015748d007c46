#!/usr/bin/env bash
# The lab (issue 13): ./deploy/lab up boots the host VM (TCG) whose disks and NICs come from
# zero-card outside it, and zerod in the host runs a container on the card's devices through its
# lab card driver (io/lab). Everything goes through the ZERO_URL/ZERO_TOKEN/ZERO_CACERT that
# `deploy/lab up` prints, as a developer's shell would use them, and through the card's operator
# socket for what only the card sees:
#   - `deploy/lab up` starts the card and the host, and zerod answers over the card's forward;
#   - the busybox image uploaded; a network on the card; a blank data volume;
#   - a peer on the card's network: a namespace of the test's own, a veth on the network's bridge
#     in the lab's namespace (not on this machine's interfaces), serving a file over HTTP (busybox's
#     wget, static, dies of SIGSEGV in Debian 12: the container asks with nc);
#   - a container on a card-presented root volume (a clone of the image, uploaded to the card by
#     its hash), the data volume at /data and a NIC on the network: it runs, reaches the peer
#     (nc), writes on both volumes; the card shows the three presentations and the host's QEMU
#     has their devices;
#   - stopped: the card withdraws them (its presentations and the QEMU devices gone); the data
#     volume detached and attached again while stopped; started again: presented again, and the
#     container reads what it wrote on both volumes;
#   - figures: host boot to zerod ready (a power cycle through the card, QEMU's start to zerod's
#     answer), the container's create in the lab, dd with O_DIRECT on a card-presented disk in the
#     container vs on a file of the card's pool;
#   - `deploy/lab down` leaves nothing: no process, mount, namespace or loop device of the lab.
# The tests's own cleanup runs `deploy/lab down` too, whatever happened.
# Debian packages: qemu-system-x86 qemu-utils e2fsprogs busybox-static crun socat zstd curl jq
# (a missing tool fails the test: it never passes without booting the host).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"
PEER_PID=
kill_peer() { [ -z "$PEER_PID" ] || kill -9 "$PEER_PID" 2>/dev/null; }
LAB_CLEANUP_EXTRA=kill_peer

# --- up --------------------------------------------------------------------------------------
lab_up
up_ms=$UP_MS
# The maintenance port is the card's to give when asked for (lab_ops asks): not here.
[ ! -e "$LAB/run/host/maint.sock" ] || fail "the host has a maintenance port though the card was not asked for one"
expect 200 GET /v1/node
zeroctl node >"$T/node.txt" || fail "zeroctl node with the printed environment failed"
grep -q 'features.cgroups_enforced: *true' "$T/node.txt" || fail "zerod in the lab's host does not enforce cgroups: $(cat "$T/node.txt")"
log "deploy/lab up: $up_ms ms (zerod answers over the card's forward, $ZERO_URL)"

# --- the image, the network, the data volume -----------------------------------------------------
BB=$ZERO_BUILD_DIR/lab/busybox
[ -d "$BB/rootfs/bin" ] || fail "deploy/lab up made no busybox image in $BB"
zeroctl image import bb "$BB/rootfs" >/dev/null || fail "zeroctl image import failed"
zeroctl network create net0 10.77.0.0/24 >/dev/null || fail "zeroctl network create failed"
zeroctl volume create data0 --size 256M >/dev/null || fail "zeroctl volume create failed"
expect 200 GET /v1/volumes/data0
DATA_ID=$(jbody .id)
expect 200 GET /v1/networks/net0
BRIDGE=$(jbody .bridge)
op GET "/v1/volumes/$DATA_ID" | jq -e '.state == "ready"' >/dev/null || fail "the card has no volume $DATA_ID"

# The peer: a namespace of the test's own, one end of a veth in it, the other on the card's
# bridge in the lab's namespace; busybox httpd there serves a token.
TOKEN=peer-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p "$T/www"
echo "$TOKEN" >"$T/www/token"
touch "$T/peer.ns"
unshare --net="$T/peer.ns" true || fail "cannot make the peer's namespace"
nsenter --net="$T/peer.ns" busybox httpd -f -p 80 -h "$T/www" &
PEER_PID=$!
nsenter --net="$LAB/netns" ip link add lpeer0 type veth peer name lpeer1 || fail "cannot make the peer's veth"
nsenter --net="$LAB/netns" ip link set lpeer1 netns "$PEER_PID" || fail "cannot move the peer's end"
nsenter --net="$LAB/netns" ip link set lpeer0 master "$BRIDGE" up || fail "cannot put the peer on $BRIDGE"
nsenter --net="$T/peer.ns" sh -c 'ip link set lo up && ip addr add 10.77.0.200/24 dev lpeer1 && ip link set lpeer1 up' ||
  fail "cannot configure the peer"

# --- the container ------------------------------------------------------------------------------
# shellcheck disable=SC2016 # the container's shell expands these
CMD='echo "addr: $(ip -4 addr show eth0 | grep -o "inet [0-9./]*")"; echo "root kept: $(cat /kept 2>/dev/null)"; echo "data kept: $(cat /data/f 2>/dev/null)"; echo "peer: $(printf "GET /token HTTP/1.0\r\n\r\n" | nc -w 5 10.77.0.200 80 | tail -n 1)"; echo root > /kept; echo data > /data/f; sync; echo written; sleep 3600'
t0=$(now_ms)
zeroctl create c1 --image bb --volume data0:/data --nic net0 -- /bin/sh -c "$CMD" >"$T/create.out" 2>&1 ||
  fail "zeroctl create failed: $(cat "$T/create.out")"
create_ms=$(($(now_ms) - t0))
wait_console c1 written 30
api GET /v1/instances/c1/console
grep -q '^addr: inet 10.77.0.2/24' "$BODY" || fail "c1's NIC: $(cat "$BODY")"
grep -q "^peer: $TOKEN\$" "$BODY" || fail "c1 did not reach the peer on the card's network: $(cat "$BODY")"
grep -q '^root kept: $' "$BODY" || fail "c1's new root volume had /kept: $(cat "$BODY")"
grep -q '^data kept: $' "$BODY" || fail "c1's new data volume had /f: $(cat "$BODY")"
expect 200 GET /v1/instances/c1
NIC_ID=$(jbody '.nics[0].id')
expect 200 "GET" "/v1/volumes/$(jbody .root_volume)"
ROOT_ID=$(jbody .id)
for v in "$ROOT_ID" "$DATA_ID"; do
  presented "$v" || fail "the card does not present volume $v"
  plugged disk "$v" || fail "the host's QEMU has no disk of volume $v"
done
presented "$NIC_ID" || fail "the card does not present NIC $NIC_ID"
plugged nic "$NIC_ID" || fail "the host's QEMU has no NIC $NIC_ID"
log "c1 runs on the card's root and data volumes and NIC, reached the peer at 10.77.0.200; create: $create_ms ms"

# --- stop: withdrawn; detached and attached again; start: presented again ------------------------
zeroctl stop c1 >/dev/null || fail "zeroctl stop failed"
for v in "$ROOT_ID" "$DATA_ID" "$NIC_ID"; do
  presented "$v" && fail "the card still presents $v after the stop"
done
plugged disk "$DATA_ID" && fail "the host's QEMU still has the data volume's disk after the stop"
zeroctl detach-volume c1 data0 >/dev/null || fail "zeroctl detach-volume failed"
zeroctl attach-volume c1 data0 --path /data >/dev/null || fail "zeroctl attach-volume failed"
zeroctl start c1 >/dev/null || fail "zeroctl start failed"
wait_console c1 'data kept: data' 30
api GET /v1/instances/c1/console
grep -q '^root kept: root' "$BODY" || fail "c1's root volume lost /kept over the stop and start: $(cat "$BODY")"
grep -q "^peer: $TOKEN\$" "$BODY" || fail "c1 did not reach the peer after its start"
presented "$DATA_ID" && plugged disk "$DATA_ID" || fail "the data volume is not presented again after the start"
log "stopped (withdrawn), data0 detached and attached, started (presented again): both volumes kept what c1 wrote"

# --- figures: I/O on a card-presented disk vs the card's pool; host boot to zerod ready ---------
# dd of busybox with O_DIRECT on both sides (the host image has no fio): 64 MiB in 1 MiB blocks
# written and read back, and 8 MiB in 4 KiB blocks written. busybox's dd says no rate: each run is
# timed with /proc/uptime (10 ms) in the container, date on the card's side.
# shellcheck disable=SC2016 # the container's shell expands these
DD='run() { s=$(cut -d" " -f1 /proc/uptime); dd "$@" 2>/dev/null; e=$(cut -d" " -f1 /proc/uptime); echo "dd $s $e"; }; run if=/dev/zero of=/data/dd bs=1M count=64 oflag=direct; run if=/data/dd of=/dev/null bs=1M iflag=direct; run if=/dev/zero of=/data/dd4k bs=4k count=2048 oflag=direct; rm -f /data/dd /data/dd4k; echo dd-done; sleep 3600'
zeroctl create io --image bb --volume data0:/data -- /bin/sh -c "$DD" >/dev/null 2>&1 && fail "data0 is c1's: a second instance took it"
zeroctl stop c1 >/dev/null || fail "zeroctl stop failed"
zeroctl detach-volume c1 data0 >/dev/null || fail "zeroctl detach-volume failed"
zeroctl create io --image bb --volume data0:/data -- /bin/sh -c "$DD" >/dev/null || fail "zeroctl create io failed"
wait_console io dd-done 120
api GET /v1/instances/io/console
# mbs BYTES SECONDS: MB/s (10^6)
mbs() { awk -v b="$1" -v s="$2" 'BEGIN { if (s <= 0) s = 0.01; printf "%.0f MB/s", b / s / 1e6 }'; }
sizes=(67108864 67108864 8388608)
i=0
inside=
while read -r _ s e; do
  inside+="$(mbs "${sizes[i]}" "$(awk -v s="$s" -v e="$e" 'BEGIN { print e - s }')"), "
  i=$((i + 1))
done < <(grep '^dd ' "$BODY")
[ "$i" = 3 ] || fail "the container's dd runs said: $(cat "$BODY")"
pool=$LAB/state/softcard/pool/volumes # the card's pool: the XFS image it mounts
outside=
i=0
for c in "if=/dev/zero of=$pool/dd bs=1M count=64 oflag=direct" "if=$pool/dd of=/dev/null bs=1M iflag=direct" \
  "if=/dev/zero of=$pool/dd4k bs=4k count=2048 oflag=direct"; do
  t0=$(date +%s%N)
  # shellcheck disable=SC2086 # dd's words
  busybox dd $c 2>/dev/null || fail "dd $c on the card's pool failed"
  outside+="$(mbs "${sizes[i]}" "$(awk -v n=$(($(date +%s%N) - t0)) 'BEGIN { print n / 1e9 }')"), "
  i=$((i + 1))
done
rm -f "$pool/dd" "$pool/dd4k"
log "dd O_DIRECT, 1 MiB write / 1 MiB read / 4 KiB write: in the container on a card-presented disk ${inside%, }; on the card's pool (the raw files' filesystem) ${outside%, }"
zeroctl rm io >/dev/null || fail "zeroctl rm io failed"

# Host boot to zerod ready: the host powered off through the card (its power button) and on
# again; QEMU's start (the answer to "on") to zerod's first answer over the forward.
op POST /v1/host/power '{"action":"powerdown","timeout_s":90}' | jq -e '.power == "off"' >/dev/null ||
  fail "the host did not power off with its button"
t0=$(now_ms)
op POST /v1/host/power '{"action":"on"}' | jq -e '.power == "running"' >/dev/null || fail "the card did not power the host on"
zerod_ready_after "$t0" 150
ready=$READY_MS
expect 200 GET /v1/instances/c1
[ "$(jbody .state)" = stopped ] || fail "c1 is $(jbody .state) after the host's power cycle"
log "host boot to zerod ready: $ready ms (TCG; the power on to zerod's answer over the card's forward)"

# --- down ----------------------------------------------------------------------------------------
lab_down_clean
down_ms=$DOWN_MS
log "deploy/lab down: $down_ms ms; nothing of the lab is left"
echo PASS

#!/usr/bin/env bash
# Online configuration of a running VM (TCG): a data volume that a container wrote is hot-plugged,
# the guest sees the new disk and reads the container's file from it, and it is hot-unplugged;
# a NIC is hot-plugged (the guest sees its MAC) and unplugged. Each leaves the store and the card
# consistent. A running container answers 409; stopped, it takes the volume at its next start.
. "$(dirname "$0")/lib.sh"

start_zerod_with_vm_image
expect 201 POST /v1/networks '{"name":"net1","subnet":"10.67.0.0/24"}'
act POST /v1/volumes '{"name":"data1","size_bytes":67108864}'


# a container writes a file on data1, and is deleted (data1 is not its own: it stays)
expect 202 POST /v1/instances '{"name":"c1","image":"bb","volumes":[{"name":"data1","path":"/data"}],"command":["/bin/sh","-c","echo written-by-c1 > /data/hello; sync; echo C1-DONE"]}'
wait_op "$(jbody .id)"
wait_state c1 stopped
wait_console c1 C1-DONE
act DELETE /v1/instances/c1

# The guest reports every change of its disks and NICs, and reads and unmounts a new virtio disk.
# shellcheck disable=SC2016 # expanded in the guest
watch='last=; while :; do
  now="DISKS $(ls /sys/block | grep -v loop | tr "\n" " ")NICS $(cat /sys/class/net/eth*/address 2>/dev/null | tr "\n" " ")"
  if [ "$now" != "$last" ]; then echo "$now"; last=$now; fi
  if [ -b /dev/vdb ] && [ ! -e /tmp/read ]; then
    mkdir -p /mnt && mount -t ext4 /dev/vdb /mnt && echo "HOTPLUG-READ $(cat /mnt/hello)" && umount /mnt; touch /tmp/read
  fi
  [ -b /dev/vdb ] || rm -f /tmp/read
  sleep 0.2
done'
expect 202 POST /v1/instances "{\"name\":\"v1\",\"mode\":\"vm\",\"image\":\"bb\",\"memory_mib\":256,\"nics\":[{\"network\":\"net1\"}],\"command\":[\"/bin/sh\",\"-c\",$(jq -Rn --arg c "$watch" '$c')]}"
wait_op "$(jbody .id)"
mac0=$(inst v1 'nics[0].mac')
wait_console v1 "DISKS vda NICS" 30
grep -q "DISKS vda NICS $mac0 \$" <(tr -d '\r' <"$BODY") || fail "v1 does not start with one disk and one NIC: $(tail -c 400 "$BODY")"
qemu=$(inst v1 pid)
log "v1 runs as $qemu with one disk (vda) and one NIC ($mac0)"

# 1. hot-plug data1 (virtio-blk: the card's vhost-user-blk export, then device_add)
expect 202 POST /v1/instances/v1/volumes '{"name":"data1","path":"/data"}'
wait_op "$(jbody .id)"
wait_console v1 "HOTPLUG-READ written-by-c1" 30
wait_console v1 "DISKS vda vdb NICS" 30
[ "$(inst v1 pid)" = "$qemu" ] || fail "v1's QEMU changed"
[ "$(jbody '.volumes[] | select(.name=="data1") | .export.kind')" = vhost-user-blk ] ||
  fail "data1 is not among v1's volumes with a vhost-user-blk export: $(cat "$BODY")"
expect 200 GET /v1/volumes/data1
[ "$(jbody .attached_to)" = v1 ] || fail "data1 is not attached to v1: $(cat "$BODY")"
log "data1 hot-plugged into v1: the guest saw vdb and read the container's file from it"

# 2. hot-unplug it: device_del, the guest lets go, the backend and the export go
expect 409 POST /v1/instances/v1/volumes '{"name":"data1","path":"/data"}' # attached already
expect 202 DELETE /v1/instances/v1/volumes/data1
wait_op "$(jbody .id)"
for _ in $(seq 1 100); do api GET /v1/instances/v1/console; [ "$(tr -d '\r' <"$BODY" | grep '^DISKS' | tail -1)" = "DISKS vda NICS $mac0 " ] && break; sleep 0.1; done
[ "$(tr -d '\r' <"$BODY" | grep '^DISKS' | tail -1)" = "DISKS vda NICS $mac0 " ] || fail "the guest still has vdb: $(tail -c 400 "$BODY")"
[ "$(inst v1 'volumes | length')" = 1 ] || fail "v1 still lists data1: $(cat "$BODY")"
expect 200 GET /v1/volumes/data1
[ "$(jbody .attached_to)" = null ] && [ "$(jbody .export)" = null ] || fail "data1 is still attached or exported: $(cat "$BODY")"
log "data1 hot-unplugged: gone from the guest, the store and the card"

# 3. a NIC: hot-plugged with its own MAC and address on net1, then unplugged (its tap goes)
expect 202 POST /v1/instances/v1/nics '{"network":"net1"}'
wait_op "$(jbody .id)"
expect 200 GET /v1/instances/v1
mac1=$(jbody '.nics[1].mac')
nic1=$(jbody '.nics[1].id')
[ "$(jbody '.nics[1].ifname')" = eth1 ] || fail "the new NIC is not eth1: $(cat "$BODY")"
wait_console v1 "NICS $mac0 $mac1 " 30
tap=$(in_ns ip -o link show master zb-net1 | grep -c ' zt-')
[ "$tap" = 2 ] || fail "net1's bridge has $tap taps, not 2"
expect 202 DELETE "/v1/instances/v1/nics/$nic1"
wait_op "$(jbody .id)"
for _ in $(seq 1 100); do api GET /v1/instances/v1/console; [ "$(tr -d '\r' <"$BODY" | grep '^DISKS' | tail -1)" = "DISKS vda NICS $mac0 " ] && break; sleep 0.1; done
[ "$(tr -d '\r' <"$BODY" | grep '^DISKS' | tail -1)" = "DISKS vda NICS $mac0 " ] || fail "the guest still has the NIC: $(tail -c 400 "$BODY")"
[ "$(inst v1 'nics | length')" = 1 ] || fail "v1 still lists the NIC: $(cat "$BODY")"
tap=$(in_ns ip -o link show master zb-net1 | grep -c ' zt-')
[ "$tap" = 1 ] || fail "net1's bridge has $tap taps after the unplug, not 1"
log "a NIC hot-plugged ($mac1, the guest saw it) and unplugged (its tap is gone)"

# 3b. kill -9 of zerod right after it took an attach: the next zerod resumes the operation at its
# step (QEMU is asked what it has first), and the guest gets the NIC once
expect 202 POST /v1/instances/v1/nics '{"network":"net1"}'
op=$(jbody .id)
crash_zerod
start_zerod
wait_op "$op"
expect 200 GET /v1/instances/v1
mac2=$(jbody '.nics[1].mac')
nic2=$(jbody '.nics[1].id')
[ "$(jbody .pid)" = "$qemu" ] || fail "v1's QEMU changed across the crash"
wait_console v1 "NICS $mac0 $mac2 " 30
act DELETE "/v1/instances/v1/nics/$nic2"
log "an attach interrupted by kill -9 of zerod is finished by the next one"

# a restart (stop over QMP, start paused, devices checked, cont) keeps what the VM has
act POST /v1/instances/v1/restart
[ "$(inst v1 state)" = running ] && [ "$(jbody .runtime_status)" = running ] || fail "v1 after restart: $(cat "$BODY")"
[ "$(jbody .pid)" != "$qemu" ] || fail "v1's QEMU did not change across the restart"
for _ in $(seq 1 300); do api GET /v1/instances/v1/console; [ "$(grep -c "^DISKS vda NICS $mac0 " <(tr -d '\r' <"$BODY"))" -ge 2 ] && break; sleep 0.1; done
[ "$(grep -c "^DISKS vda NICS $mac0 " <(tr -d '\r' <"$BODY"))" -ge 2 ] || fail "v1 did not boot again with its disk and NIC: $(tail -c 400 "$BODY")"
qemu=$(inst v1 pid)
log "v1 restarts with the same disk and NIC"

# 4. bad input changes nothing
expect 404 DELETE /v1/instances/v1/volumes/nosuch
expect 409 DELETE "/v1/instances/v1/volumes/v1-root"
expect 422 POST /v1/instances/v1/volumes '{"name":"nosuch","path":"/x"}'
expect 422 POST /v1/instances/v1/nics '{"network":"nosuch"}'
expect 400 POST /v1/instances/v1/volumes '[1]'

# 5. a running container answers 409; stopped, it takes the volume at its next start
expect 202 POST /v1/instances '{"name":"c2","image":"bb","command":["/bin/sh","-c","cat /data/hello 2>/dev/null || echo NO-DATA; sleep 1000"]}'
wait_op "$(jbody .id)"
expect 409 POST /v1/instances/c2/volumes '{"name":"data1","path":"/data"}'
jbody .error.message | grep -q "stopped" || fail "the 409 does not say why: $(cat "$BODY")"
expect 200 GET /v1/volumes/data1
[ "$(jbody .attached_to)" = null ] || fail "a refused attach attached data1"
act POST /v1/instances/c2/stop '{"timeout_s":0}'
expect 202 POST /v1/instances/c2/volumes '{"name":"data1","path":"/data"}'
wait_op "$(jbody .id)"
act POST /v1/instances/c2/start
wait_console c2 written-by-c1
log "a running container refuses (409); a stopped one takes data1 at its next start"

act DELETE "/v1/instances/c2?force=true"
act DELETE "/v1/instances/v1?force=true"
act DELETE /v1/volumes/data1
expect 204 DELETE /v1/networks/net1
stop_zerod
assert_nothing_left

#!/usr/bin/env bash
# Card volumes under containers: the root volume is a copy-on-write clone of the image's base,
# a data volume is mounted at its path; files written in the container survive stop/start, and
# survive the instance's delete when its volumes are kept, for a second container to read.
. "$(dirname "$0")/lib.sh"

start_zerod
make_image busybox

# bad input changes nothing
expect 422 POST /v1/volumes '{"name":"blank"}'
expect 422 POST /v1/volumes '{"name":"x","image":"nope"}'
expect 422 POST /v1/volumes '{"name":"Bad Name","size_bytes":67108864}'
expect 422 POST /v1/volumes '{"name":"x","size_bytes":67108864,"color":"red"}'
expect 200 GET /v1/volumes
[ "$(jbody '.volumes | length')" = 0 ] || fail "a refused volume was recorded"

# create and delete are operations (202 + Location): the card's work never holds the API
expect 202 POST /v1/volumes '{"name":"data1","size_bytes":67108864}'
[ "$(jbody .kind)/$(jbody .volume)" = volume_create/data1 ] || fail "data1's operation: $(cat "$BODY")"
wait_op "$(jbody .id)"
expect 200 GET /v1/volumes/data1
[ "$(jbody .format)" = raw ] && [ "$(jbody .state)" = ready ] || fail "data1: $(cat "$BODY")"
expect 409 POST /v1/volumes '{"name":"data1","size_bytes":67108864}'
act POST /v1/volumes '{"name":"clone1","image":"busybox"}'
expect 200 GET /v1/volumes/clone1
[ "$(jbody .format)" = raw ] && [ "$(jbody .image)" = busybox ] || fail "clone1: $(cat "$BODY")"
# A reflink clone in the card's pool: its extents are the pool's copy of the image's base.
filefrag -v "$T/state/card/pool/volumes/$(jbody .id).raw" | grep -q shared || fail "clone1 shares no extents"
act DELETE /v1/volumes/clone1
expect 404 GET /v1/volumes/clone1
log "volumes: blank (raw ext4) and clone (a reflink of the image's base in the pool) are made and deleted"

cmd='echo "ROOT=$(cat /etc/marker 2>/dev/null) DATA=$(cat /data/f 2>/dev/null) START"; [ -f /etc/marker ] || { echo root-bytes > /etc/marker; echo data-bytes > /data/f; sync; echo WROTE; }; while true; do sleep 1; done'
expect 202 POST /v1/instances "{\"name\":\"c1\",\"image\":\"busybox\",\"command\":[\"/bin/sh\",\"-c\",$(jq -Rn --arg c "$cmd" '$c')],\"volumes\":[{\"name\":\"data1\",\"path\":\"/data\"}]}"
wait_op "$(jbody .id)"
[ "$(inst c1 root_volume)" = c1-root ] || fail "c1's root volume is $(inst c1 root_volume)"
[ "$(inst c1 'volumes[0].export.kind')" = host-block ] || fail "c1's root is not a host block export: $(cat "$BODY")"
dev=$(inst c1 'volumes[0].export.path')
[ -b "$dev" ] || fail "c1's root export $dev is not a block device"
grep -q "^$dev .*/bundle/rootfs ext4" /proc/mounts || fail "$dev is not mounted as c1's rootfs"
wait_console c1 WROTE
expect 200 GET /v1/volumes/c1-root
[ "$(jbody .owner)" = c1 ] && [ "$(jbody .attached_to)" = c1 ] || fail "c1-root: $(cat "$BODY")"
[ "$(jbody .stats.write_ops)" -gt 0 ] || fail "c1-root shows no writes: $(cat "$BODY")"
expect 409 DELETE /v1/volumes/data1
expect 409 POST /v1/instances '{"name":"c9","image":"busybox","command":["true"],"volumes":[{"name":"data1","path":"/d"}]}'
expect 422 POST /v1/instances '{"name":"c9","image":"busybox","command":["true"],"volumes":[{"name":"data1","path":"relative"}]}'
expect 404 GET /v1/instances/c9
log "c1 runs on its root volume ($dev) with data1 at /data, and wrote a file on each"

act POST /v1/instances/c1/stop '{"timeout_s":0}'
[ -z "$(leftover_loops)" ] || fail "loop devices left after stop: $(leftover_loops)"
[ -z "$(leftover_mounts)" ] || fail "mounts left after stop: $(leftover_mounts)"
# a volume attached later goes where none is mounted (tests/fuzz/corpus/attach_spec/volume_path_taken)
act POST /v1/volumes '{"name":"data2","size_bytes":16777216}'
expect 409 POST /v1/instances/c1/volumes '{"name":"data2","path":"/data"}'
act DELETE /v1/volumes/data2
act POST /v1/instances/c1/start
wait_console c1 "ROOT=root-bytes DATA=data-bytes START"
log "both files survive stop/start"

act DELETE "/v1/instances/c1?delete_volumes=false&force=true"
expect 200 GET /v1/volumes/c1-root
[ "$(jbody .attached_to)" = null ] && [ "$(jbody .owner)" = null ] || fail "kept c1-root: $(cat "$BODY")"
expect 202 POST /v1/instances "{\"name\":\"c2\",\"image\":\"busybox\",\"root_volume\":\"c1-root\",\"command\":[\"/bin/sh\",\"-c\",\"echo C2 \$(cat /etc/marker) \$(cat /mnt/d/f); sleep 1000\"],\"volumes\":[{\"name\":\"data1\",\"path\":\"/mnt/d\"}]}"
wait_op "$(jbody .id)"
wait_console c2 "C2 root-bytes data-bytes"
log "c2, given c1's kept root volume and data1, reads both files"

# c2 was given its volumes: deleting it keeps them; then they can go
act DELETE "/v1/instances/c2?force=true"
expect 200 GET /v1/volumes/c1-root
act DELETE /v1/volumes/c1-root
act DELETE /v1/volumes/data1
[ -z "$(ls "$T/state/card/pool/volumes")" ] || fail "volume files left: $(ls "$T/state/card/pool/volumes")"

# the default delete takes the root volume made from the image with it
expect 202 POST /v1/instances '{"name":"c3","image":"busybox","command":["true"]}'
wait_op "$(jbody .id)"
act DELETE /v1/instances/c3
expect 404 GET /v1/volumes/c3-root
[ -z "$(ls "$T/state/card/pool/volumes")" ] || fail "c3's root volume file is left"
[ -z "$(leftover_loops)" ] || fail "loop devices left: $(leftover_loops)"
[ -z "$(leftover_mounts)" ] || fail "mounts left: $(leftover_mounts)"
stop_zerod
log "deleted instances and volumes leave no file, loop device or mount"

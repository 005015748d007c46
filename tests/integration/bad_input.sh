#!/usr/bin/env bash
# Every bad input gets its status and a JSON error body, and the store is unchanged afterwards.
. "$(dirname "$0")/lib.sh"

# A bad configuration file: one line naming it, in words on a terminal (script(1) makes one), with
# the syslog priority prefix for the journal or a file.
out=$(script -qec "$ZEROD --config $T/none.conf" /dev/null | tr -d '\r' || true)
[ "$out" = "zerod: error: cannot open config file $T/none.conf" ] || fail "zerod on a terminal said: $out"
"$ZEROD" --config "$T/none.conf" 2>"$T/err.txt" && fail "zerod started without its config file"
[ "$(cat "$T/err.txt")" = "<3>zerod: cannot open config file $T/none.conf" ] || fail "zerod to a file said: $(cat "$T/err.txt")"

start_zerod
make_image busybox
make_image spare
act POST /v1/instances '{"name":"taken","image":"busybox","memory_mib":32,"command":["/bin/sh","-c","sleep 600"]}'
act POST /v1/volumes '{"name":"vol1","size_bytes":16777216}'
expect 201 POST /v1/networks '{"name":"net1","subnet":"10.99.0.0/24"}'

snapshot() { sqlite3 "$T/state/zero.db" '.dump images' '.dump instances' '.dump operations' '.dump events' '.dump volumes' \
  '.dump networks' '.dump nics' '.dump attachments'; }
before=$(snapshot)

bad() { # bad STATUS CODE METHOD PATH [BODY] [extra curl args...]
  local want=$1 code=$2; shift 2
  local args=(-sS --unix-socket "$SOCK" -o "$BODY" -w '%{http_code}' -X "$1" "http://zero$2")
  if [ $# -ge 3 ]; then args+=(-H "${CTYPE:-Content-Type: application/json}" --data-binary "$3"); fi
  STATUS=$(curl "${args[@]}")
  [ "$STATUS" = "$want" ] || fail "$1 $2 ${3:0:60}: expected $want, got $STATUS: $(head -c 300 "$BODY")"
  [ "$(jq -r .error.code "$BODY")" = "$code" ] || fail "$1 $2: error code $(jq -r .error.code "$BODY" 2>&1), expected $code"
  [ -n "$(jq -r '.error.message // empty' "$BODY")" ] || fail "$1 $2: no error message"
}

ok='"image":"busybox","command":["true"]'
# 400 malformed
bad 400 malformed POST /v1/instances '{"name":'
bad 400 malformed POST /v1/instances '["not","an","object"]'
bad 400 malformed POST /v1/instances '{"name":"a","name":"b"}'
# No body at all: 400 saying one is required (zero_api_require_body), with its shape where known.
bad 400 malformed POST /v1/instances
[ "$(jbody .error.message)" = "a JSON body is required" ] || fail "POST /v1/instances without a body: $(cat "$BODY")"
bad 400 malformed POST /v1/migrations
bad 400 malformed POST /v1/instances/nope/migrate
[ "$(jbody .error.message)" = 'a JSON body is required: {"target": URL}' ] || fail "migrate without a body: $(cat "$BODY")"
bad 400 malformed POST /v1/tokens
[ "$(jbody .error.message)" = 'a JSON body is required: {"name", "role"}' ] || fail "POST /v1/tokens without a body: $(cat "$BODY")"
# 413 too large
head -c 1100000 /dev/zero | tr '\0' ' ' >"$T/big.json"
bad 413 too_large POST /v1/instances "@$T/big.json"
# 415 not JSON
CTYPE='Content-Type: text/plain' bad 415 unsupported_media_type POST /v1/instances "{\"name\":\"x\",$ok}"
# 422 invalid specs
bad 422 invalid POST /v1/instances "{\"name\":\"x\",\"mode\":\"mainframe\",$ok}"
bad 422 invalid POST /v1/instances "{\"name\":\"Bad_Name\",$ok}"
bad 422 invalid POST /v1/instances "{\"name\":\"-x\",$ok}"
bad 422 invalid POST /v1/instances "{\"name\":\"$(printf 'a%.0s' $(seq 1 64))\",$ok}"
bad 422 invalid POST /v1/instances '{"name":"x","image":"nope","command":["true"]}'
bad 422 invalid POST /v1/instances '{"name":"x","image":"busybox"}'
bad 422 invalid POST /v1/instances '{"name":"x","image":"busybox","command":[]}'
bad 422 invalid POST /v1/instances '{"name":"x","image":"busybox","command":[1]}'
bad 422 invalid POST /v1/instances "{\"name\":\"x\",\"cpus\":\"two\",$ok}"
bad 422 invalid POST /v1/instances "{\"name\":\"x\",\"cpus\":4096,$ok}"
bad 422 invalid POST /v1/instances "{\"name\":\"x\",\"memory_mib\":99999999,$ok}"
bad 422 invalid POST /v1/instances "{\"name\":\"x\",\"env\":{\"A=B\":\"c\"},$ok}"
bad 422 invalid POST /v1/instances "{\"name\":\"x\",\"colour\":\"blue\",$ok}"
bad 422 invalid POST /v1/images '{"name":"Bad Name","source":"/tmp"}'
bad 422 invalid POST /v1/images "{\"name\":\"img2\",\"source\":\"$T/nonexistent/rootfs\"}"
bad 422 invalid POST /v1/images '{"name":"img2","source":"relative/path"}'
bad 422 invalid POST /v1/instances/taken/stop '{"timeout_s":-1}'
bad 422 invalid GET '/v1/operations/abc?wait=99999'
# 403: host paths only below [images] import_dirs (here $T)
bad 403 forbidden POST /v1/images '{"name":"img2","source":"/nonexistent/rootfs"}'
bad 403 forbidden POST /v1/images "{\"name\":\"vm\",\"source\":\"$T/rootfs-spare\",\"kernel\":\"/nonexistent\"}"
# 404
bad 404 not_found GET /v1/instances/nope
bad 404 not_found DELETE /v1/instances/nope
bad 404 not_found POST /v1/instances/nope/start
bad 404 not_found GET /v1/instances/nope/console
bad 404 not_found GET /v1/images/nope
bad 404 not_found DELETE /v1/images/nope
bad 404 not_found GET /v1/operations/0123456789abcdef0123456789abcdef
bad 404 not_found GET /v1/nothing-here
bad 405 method_not_allowed PUT /v1/instances
# 409
bad 409 conflict POST /v1/instances "{\"name\":\"taken\",$ok}"
bad 409 conflict POST /v1/images "{\"name\":\"spare\",\"source\":\"$T/rootfs-spare\"}"
bad 409 in_use DELETE /v1/images/busybox
bad 409 wrong_state POST /v1/instances/taken/start
# images for VMs: kernel and initrd must be files; an initrd needs a kernel
bad 422 invalid POST /v1/images "{\"name\":\"vm\",\"source\":\"$T/rootfs-spare\",\"kernel\":\"$T/nonexistent\"}"
bad 422 invalid POST /v1/images "{\"name\":\"vm\",\"source\":\"$T/rootfs-spare\",\"kernel\":\"relative\"}"
bad 422 invalid POST /v1/images "{\"name\":\"vm\",\"source\":\"$T/rootfs-spare\",\"kernel\":\"$T\"}"
bad 422 invalid POST /v1/images "{\"name\":\"vm\",\"source\":\"$T/rootfs-spare\",\"initrd\":\"/etc/hostname\"}"
bad 422 invalid POST /v1/images "{\"name\":\"vm\",\"source\":\"$T/rootfs-spare\",\"kernel\":7}"
[ -e "$T/state/images/vm" ] && fail "a refused image left files"
# the card: volumes, networks, and an instance's volumes and NICs
bad 422 invalid POST /v1/volumes '{"name":"v2"}'
bad 422 invalid POST /v1/volumes '{"name":"v2","size_bytes":1}'
bad 422 invalid POST /v1/volumes '{"name":"v2","size_bytes":"big"}'
bad 422 invalid POST /v1/volumes '{"name":"v2","image":"nope"}'
bad 422 invalid POST /v1/volumes '{"name":"V2","size_bytes":16777216}'
bad 422 invalid POST /v1/volumes '{"name":"v2","size_bytes":1125899906842625}'
bad 422 invalid POST /v1/volumes '{"name":"v2","size_bytes":16777217}'
bad 409 conflict POST /v1/volumes '{"name":"vol1","size_bytes":16777216}'
bad 409 conflict POST /v1/volumes '{"name":"taken-root","size_bytes":16777216}'
bad 404 not_found GET /v1/volumes/nope
bad 404 not_found DELETE /v1/volumes/nope
bad 409 in_use DELETE /v1/volumes/taken-root
bad 422 invalid POST /v1/volumes/vol1/resize '{"size_bytes":1048576}'
bad 422 invalid POST /v1/volumes/vol1/resize '{}'
bad 422 invalid PUT /v1/volumes/vol1/qos '{"iops":"fast"}'
bad 422 invalid PUT /v1/volumes/vol1/qos '{"latency":5}'
bad 422 invalid POST /v1/networks '{"name":"n2","subnet":"10.99.0.0"}'
bad 422 invalid POST /v1/networks '{"name":"n2","subnet":"10.98.0.1/24"}'
bad 422 invalid POST /v1/networks '{"name":"n2","subnet":"10.98.0.0/31"}'
bad 409 conflict POST /v1/networks '{"name":"n2","subnet":"10.99.0.0/16"}'
bad 409 conflict POST /v1/networks '{"name":"net1","subnet":"10.97.0.0/24"}'
bad 404 not_found DELETE /v1/networks/nope
bad 422 invalid POST /v1/instances "{\"name\":\"x\",$ok,\"root_volume\":\"nope\"}"
bad 409 conflict POST /v1/instances "{\"name\":\"x\",$ok,\"root_volume\":\"taken-root\"}"
bad 409 conflict POST /v1/instances "{\"name\":\"taken2\",$ok,\"volumes\":[{\"name\":\"taken-root\",\"path\":\"/d\"}]}"
bad 422 invalid POST /v1/instances "{\"name\":\"x\",$ok,\"volumes\":[{\"name\":\"vol1\",\"path\":\"/a/../b\"}]}"
bad 422 invalid POST /v1/instances "{\"name\":\"x\",$ok,\"volumes\":[{\"name\":\"vol1\",\"path\":\"/d\",\"personality\":\"floppy\"}]}"
bad 422 invalid POST /v1/instances "{\"name\":\"x\",$ok,\"volumes\":[{\"name\":\"vol1\",\"path\":\"/d\"},{\"name\":\"vol1\",\"path\":\"/e\"}]}"
bad 422 invalid POST /v1/instances "{\"name\":\"x\",$ok,\"nics\":[{\"network\":\"nope\"}]}"
bad 422 invalid POST /v1/instances "{\"name\":\"x\",$ok,\"nics\":[{\"network\":\"net1\",\"ip\":\"10.99.0.1\"}]}"
bad 422 invalid POST /v1/instances "{\"name\":\"x\",$ok,\"nics\":[{\"network\":\"net1\",\"mac\":\"01:00:00:00:00:01\"}]}"
bad 422 invalid POST /v1/instances "{\"name\":\"x\",$ok,\"nics\":{}}"
bad 422 invalid DELETE "/v1/instances/taken?delete_volumes=maybe"

after=$(snapshot)
[ "$before" = "$after" ] || fail "the store changed: $(diff <(echo "$before") <(echo "$after") | head -20)"
log "every bad input was refused and the store is unchanged"

# the good path still works after all that
act DELETE "/v1/instances/taken?force=true"
expect 204 DELETE /v1/images/spare
act DELETE /v1/volumes/vol1
expect 204 DELETE /v1/networks/net1
stop_zerod
echo PASS

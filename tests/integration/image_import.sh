#!/usr/bin/env bash
# Images: host paths only below [images] import_dirs; uploads of tar bodies (plain, gzip, xz);
# and the rules every import follows whatever its form: no device node, FIFO or socket, nothing
# outside the image, no write through a symlink, setuid bits only when asked. A refused import
# records no image and leaves no file; a container runs from an uploaded image, its root volume
# mounted nodev.
. "$(dirname "$0")/lib.sh"

ZEROD_CONF_EXTRA='upload_max = 8388608' start_zerod
"$ZERO_SOURCE_DIR/deploy/make-busybox-rootfs" "$T/bb" >/dev/null

# no_import_left: no work directory of an import (a failed one's goes within moments: a child
# removes it), no zero-unpack
no_import_left() {
  for _ in $(seq 1 50); do [ -z "$(ls -A "$T/state/images/.import" 2>/dev/null)" ] && break; sleep 0.1; done
  [ -z "$(ls -A "$T/state/images/.import" 2>/dev/null)" ] || fail "import work left: $(ls -la "$T/state/images/.import")"
  ! pgrep -f "zero-unpack.*$T" >/dev/null || fail "a zero-unpack still runs"
}

# msg_has TEXT: the error message in $BODY holds TEXT
msg_has() { jq -e --arg t "$1" '.error.message | contains($t)' "$BODY" >/dev/null || fail "message lacks '$1': $(cat "$BODY")"; }

# --- host paths: only below import_dirs ($T here), symlinks resolved
expect 403 POST /v1/images '{"name":"etc","source":"/etc"}'
[ "$(jbody .error.code)" = forbidden ] || fail "403 with code $(jbody .error.code)"
msg_has "source /etc is outside [images] import_dirs ($T)"
ln -s /etc "$T/etc-link"
expect 403 POST /v1/images "{\"name\":\"etc\",\"source\":\"$T/etc-link\"}"
msg_has "(resolved: /etc) is outside [images] import_dirs"
expect 403 POST /v1/images "{\"name\":\"etc\",\"source\":\"$T/../../etc\"}"
expect 403 POST /v1/images "{\"name\":\"etc\",\"source\":\"$T/bb\",\"kernel\":\"/etc/shadow\"}"
msg_has "kernel /etc/shadow is outside"
expect 404 GET /v1/images/etc
log "host paths outside import_dirs: 403 forbidden, with the rule"
act POST /v1/images "{\"name\":\"host\",\"source\":\"$T/bb\"}"
expect 200 GET /v1/images/host
[ "$(jbody .source)" = "$T/bb" ] || fail "host image's source: $(cat "$BODY")"
log "a host path inside import_dirs imports"

# --- uploads
tar -C "$T/bb" -cf "$T/bb.tar" .
upload POST '/v1/images?name=up' "$T/bb.tar" application/x-tar
[ "$STATUS" = 202 ] || fail "upload: HTTP $STATUS: $(cat "$BODY")"
[ "$(jbody .kind)/$(jbody .image)/$(jbody .instance)" = import/up/null ] || fail "upload's operation: $(cat "$BODY")"
wait_op "$(jbody .id)"
expect 200 GET /v1/images/up
[ "$(jbody .source)" = upload ] || fail "uploaded image's source: $(cat "$BODY")"
tar -C "$T/bb" -czf "$T/bb.tgz" .
upload POST '/v1/images?name=upgz' "$T/bb.tgz" application/gzip
[ "$STATUS" = 202 ] || fail "gzip upload: HTTP $STATUS: $(cat "$BODY")"
wait_op "$(jbody .id)"
upload POST '/v1/images?name=upenc' "$T/bb.tgz" application/x-tar -H 'Content-Encoding: gzip'
[ "$STATUS" = 202 ] || fail "Content-Encoding gzip upload: HTTP $STATUS: $(cat "$BODY")"
wait_op "$(jbody .id)"
if command -v xz >/dev/null; then
  tar -C "$T/bb" -cJf "$T/bb.txz" .
  upload POST '/v1/images?name=upxz' "$T/bb.txz" application/x-xz
  [ "$STATUS" = 202 ] || fail "xz upload: HTTP $STATUS: $(cat "$BODY")"
  wait_op "$(jbody .id)"
fi
for i in up upgz upenc; do
  diff -r "$T/bb" "$T/state/images/$i/rootfs" >/dev/null || fail "image $i differs from the tree it was made of"
done
no_import_left
log "uploads as application/x-tar, application/gzip, Content-Encoding gzip (and xz) import the same tree"

# A container runs from the uploaded image; its root volume is mounted nodev on the host, and
# inside the container too.
act POST /v1/instances '{"name":"c1","image":"up","command":["/bin/sh","-c","echo from-upload; grep \" / / \" /proc/self/mountinfo; sleep 600"]}'
wait_console c1 from-upload
id=$(inst c1 id)
line=$(grep -F " $T/run/instances/$id/bundle/rootfs " /proc/self/mountinfo) || fail "no rootfs mount of c1"
awk '{print $6}' <<<"$line" | tr , '\n' | grep -qx nodev || fail "c1's root volume is not mounted nodev: $line"
wait_console c1 ' / / '
api GET /v1/instances/c1/console
grep ' / / ' "$BODY" | awk '{print $6}' | tr , '\n' | grep -qx nodev || fail "c1's / is not nodev inside: $(grep ' / / ' "$BODY")"
act DELETE '/v1/instances/c1?force=true'
log "a container runs from the uploaded image; its root volume is mounted nodev ($(awk '{print $6}' <<<"$line"))"

# --- what no import may hold: each refused, naming the entry; no image, no file left
# refused NAME FILE MESSAGE: an upload that the import refuses with MESSAGE
refused() {
  upload POST "/v1/images?name=$1" "$2" application/x-tar
  [ "$STATUS" = 202 ] || fail "upload $1: HTTP $STATUS: $(cat "$BODY")"
  wait_op "$(jbody .id)" failed
  [ "$(jbody .error.code)" = invalid ] || fail "$1: error code $(jbody .error.code): $(cat "$BODY")"
  [ "$(jbody .error.message)" = "$3" ] || fail "$1: message '$(jbody .error.message)', expected '$3'"
  expect 404 GET "/v1/images/$1"
  [ -e "$T/state/images/$1" ] && fail "$1: the refused image left its directory"
  no_import_left
  log "refused $1: $3"
}
mkdir -p "$T/blk/dev" "$T/chr/dev" "$T/fifo/run"
mknod "$T/blk/dev/sda" b 8 0
mknod "$T/chr/dev/mem" c 1 1
mkfifo "$T/fifo/run/pipe"
for k in blk chr fifo; do tar --format=pax -C "$T/$k" -cf "$T/$k.tar" .; done
rule='images may not hold device nodes, FIFOs or sockets'
refused blk "$T/blk.tar" "image entry './dev/sda' is a block device: $rule"
refused chr "$T/chr.tar" "image entry './dev/mem' is a character device: $rule"
refused fifo "$T/fifo.tar" "image entry './run/pipe' is a FIFO: $rule"

echo x >"$T/f"
(cd "$T" && tar -P -cf "$T/escape.tar" --transform 's,^f$,../escape,' f)
refused escape "$T/escape.tar" "image entry '../escape' leaves the image: '..' is not allowed"
[ -z "$(find "$T/state" -name escape)" ] || fail "../escape was written: $(find "$T/state" -name escape)"
mkdir -p "$T/abs"
echo x >"$T/abs/planted"
tar -P -cf "$T/abs.tar" "$T/abs/planted"
rm "$T/abs/planted"
refused abs "$T/abs.tar" "image entry '$T/abs/planted' is an absolute path: entries are relative to the image's root"
[ -e "$T/abs/planted" ] && fail "the absolute path was written"
mkdir -p "$T/outside" "$T/trick/evil"
ln -s "$T/outside" "$T/evil"
tar -C "$T" -cf "$T/trick.tar" evil
echo pwned >"$T/trick/evil/pwned"
tar -C "$T/trick" -rf "$T/trick.tar" evil/pwned
refused trick "$T/trick.tar" "image entry 'evil/pwned' goes through the symlink 'evil': entries may not be written through symlinks"
[ -z "$(ls -A "$T/outside")" ] || fail "written through the symlink: $(ls -A "$T/outside")"

# A host directory goes through the same rules: a socket (a tar cannot hold one) and a device.
mkdir -p "$T/sockdir/run"
socat -u "UNIX-LISTEN:$T/sockdir/run/s" OPEN:/dev/null &
sp=$!
for _ in $(seq 1 50); do [ -S "$T/sockdir/run/s" ] && break; sleep 0.05; done
kill -9 "$sp"; wait "$sp" 2>/dev/null || true
[ -S "$T/sockdir/run/s" ] || fail "no socket to import"
expect 202 POST /v1/images "{\"name\":\"sock\",\"source\":\"$T/sockdir\"}"
wait_op "$(jbody .id)" failed
[ "$(jbody .error.message)" = "image entry 'run/s' is a socket: $rule" ] || fail "socket: $(cat "$BODY")"
expect 202 POST /v1/images "{\"name\":\"blkdir\",\"source\":\"$T/blk\"}"
wait_op "$(jbody .id)" failed
[ "$(jbody .error.message)" = "image entry 'dev/sda' is a block device: $rule" ] || fail "host block device: $(cat "$BODY")"
no_import_left
log "host directories: a socket and a block device refused the same way"

# --- setuid and setgid bits: cleared unless asked for
cp -a "$T/bb" "$T/suid"
cp "$T/bb/bin/busybox" "$T/suid/bin/su-test"
chmod 4755 "$T/suid/bin/su-test"
cp "$T/bb/bin/busybox" "$T/suid/bin/sg-test"
chmod 2711 "$T/suid/bin/sg-test"
tar -C "$T/suid" -cf "$T/suid.tar" .
modes() { # modes IMAGE: the two files' modes in rootfs/ and in base.ext4
  local r=$T/state/images/$1/rootfs b=$T/state/images/$1/base.ext4
  echo "$(stat -c %a "$r/bin/su-test") $(stat -c %a "$r/bin/sg-test")" \
    "$(debugfs -R 'stat /bin/su-test' "$b" 2>/dev/null | sed -n 's/.*Mode: *\([0-7]*\).*/\1/p')" \
    "$(debugfs -R 'stat /bin/sg-test' "$b" 2>/dev/null | sed -n 's/.*Mode: *\([0-7]*\).*/\1/p')"
}
upload POST '/v1/images?name=nosuid' "$T/suid.tar" application/x-tar
wait_op "$(jbody .id)"
[ "$(modes nosuid)" = "755 711 0755 0711" ] || fail "setuid/setgid kept by default: $(modes nosuid)"
upload POST '/v1/images?name=keepsuid&keep_setuid=true' "$T/suid.tar" application/x-tar
wait_op "$(jbody .id)"
[ "$(modes keepsuid)" = "4755 2711 04755 02711" ] || fail "keep_setuid=true lost the bits: $(modes keepsuid)"
act POST /v1/images "{\"name\":\"hostsuid\",\"source\":\"$T/suid\",\"keep_setuid\":true}"
[ "$(modes hostsuid)" = "4755 2711 04755 02711" ] || fail "keep_setuid (JSON) lost the bits: $(modes hostsuid)"
act POST /v1/images "{\"name\":\"hostnosuid\",\"source\":\"$T/suid\"}"
[ "$(modes hostnosuid)" = "755 711 0755 0711" ] || fail "a host import kept setuid: $(modes hostnosuid)"
log "setuid and setgid cleared by default (rootfs and base.ext4), kept with keep_setuid"

# --- the upload's own limits and refusals, from the headers or as the bytes come
head -c $((9 << 20)) /dev/zero >"$T/big.tar"
upload POST '/v1/images?name=big' "$T/big.tar" application/x-tar
[ "$STATUS" = 413 ] && [ "$(jbody .error.code)" = too_large ] || fail "an upload over upload_max: HTTP $STATUS: $(cat "$BODY")"
msg_has "over the limit of 8388608 bytes ([images] upload_max)"
upload POST '/v1/images?name=big' "$T/big.tar" application/x-tar -H 'Transfer-Encoding: chunked'
[ "$STATUS" = 413 ] && [ "$(jbody .error.code)" = too_large ] || fail "a chunked upload over upload_max: HTTP $STATUS: $(cat "$BODY")"
msg_has "the image upload is over the limit of 8388608 bytes"
upload POST '/v1/images?name=txt' "$T/bb.tar" text/plain
[ "$STATUS" = 415 ] || fail "text/plain upload: HTTP $STATUS"
upload POST '/v1/images' "$T/bb.tar" application/x-tar
[ "$STATUS" = 422 ] || fail "an upload without a name: HTTP $STATUS"
upload POST '/v1/images?name=up' "$T/bb.tar" application/x-tar
[ "$STATUS" = 409 ] || fail "an upload of a taken name: HTTP $STATUS"
upload POST '/v1/images?name=x&keep_setuid=maybe' "$T/bb.tar" application/x-tar
[ "$STATUS" = 422 ] || fail "keep_setuid=maybe: HTTP $STATUS"
head -c 4096 /dev/urandom >"$T/noise.tar"
upload POST '/v1/images?name=noise' "$T/noise.tar" application/x-tar
wait_op "$(jbody .id)" failed
msg_has "not a valid tar archive"
no_import_left
log "413 from Content-Length and as bytes come, 415, 422, 409, a broken archive: nothing left"

# --- zeroctl image import: uploads a directory (a tar made as it goes) or an archive as it is;
# --node-path sends the path for zerod to read
: "${ZEROCTL:?ZEROCTL must point at zeroctl (set by ctest)}"
zc() { "$ZEROCTL" --url "unix:$SOCK" "$@"; }
out=$(zc image import zdir "$T/bb") || fail "zeroctl image import of a directory failed"
[[ $out == "imported image zdir ("*")" ]] || fail "zeroctl said: $out"
diff -r "$T/bb" "$T/state/images/zdir/rootfs" >/dev/null || fail "zeroctl's upload of the directory differs"
zc image import ztgz "$T/bb.tgz" >/dev/null || fail "zeroctl image import of an archive failed"
[ "$(zc --json image show ztgz | jq -r .source)" = upload ] || fail "ztgz was not uploaded"
head -c 4096 /dev/urandom >"$T/vmlinuz"
head -c 1024 /dev/urandom >"$T/initrd.img"
zc image import zvm "$T/bb" --kernel "$T/vmlinuz" --initrd "$T/initrd.img" >/dev/null || fail "zeroctl import with a kernel failed"
cmp "$T/vmlinuz" "$T/state/images/zvm/vmlinuz" && cmp "$T/initrd.img" "$T/state/images/zvm/initrd.img" ||
  fail "zeroctl's layout upload lost the kernel or the initrd"
zc image import znode "$T/bb" --node-path >/dev/null || fail "zeroctl --node-path inside import_dirs failed"
[ "$(zc --json image show znode | jq -r .source)" = "$T/bb" ] || fail "znode was not imported from its host path"
err=$(zc image import zetc /etc --node-path 2>&1) && fail "zeroctl --node-path /etc worked"
[[ $err == *"outside [images] import_dirs"*"(forbidden, HTTP 403)"* ]] || fail "zeroctl --node-path /etc: $err"
err=$(zc image import zblk "$T/blk" 2>&1) && fail "zeroctl uploaded a block device"
[[ $err == *"$T/blk/dev/sda is a block device: images may not hold device nodes, FIFOs or sockets"* ]] || fail "zeroctl: $err"
expect 404 GET /v1/images/zblk
no_import_left
log "zeroctl image import: a directory, an archive, a layout with --kernel/--initrd, --node-path (403 outside)"

# --- over TCP (HTTPS, a bearer token): an admin may import, but host paths still only below
# import_dirs (issue 10, row 1: /etc imported by a TCP caller); zeroctl uploads from afar
stop_zerod
mkdir -p "$T/kdir"
cp "$T/vmlinuz" "$T/kdir/vmlinuz"
IMPORT_DIRS="$T/bb:$T/kdir" start_zerod --listen tcp:127.0.0.1:8443
TOKEN=$("$ZEROD" token create ci --state-dir "$T/state" 2>/dev/null) || fail "no token"
tcp_post() { in_ns curl -sS --cacert "$T/state/tls/server.crt" -H "Authorization: Bearer $TOKEN" -o "$BODY" -w '%{http_code}' "$@"; }
STATUS=$(tcp_post -X POST -H 'Content-Type: application/json' --data-binary '{"name":"etc","source":"/etc"}' \
  https://127.0.0.1:8443/v1/images)
[ "$STATUS" = 403 ] && [ "$(jbody .error.code)" = forbidden ] || fail "an admin token imported /etc: HTTP $STATUS: $(cat "$BODY")"
msg_has "source /etc is outside [images] import_dirs"
out=$(in_ns "$ZEROCTL" --url https://127.0.0.1:8443 --token "$TOKEN" --cacert "$T/state/tls/server.crt" image import remote "$T/bb") ||
  fail "zeroctl over HTTPS: $out"
[[ $out == "imported image remote ("*")" ]] || fail "zeroctl over HTTPS said: $out"
diff -r "$T/bb" "$T/state/images/remote/rootfs" >/dev/null || fail "the image uploaded over HTTPS differs"
log "over HTTPS with an admin token: /etc is 403 (import_dirs), zeroctl uploads a directory"
# two import directories: the source below one, the kernel below the other
act POST /v1/images "{\"name\":\"twodirs\",\"source\":\"$T/bb\",\"kernel\":\"$T/kdir/vmlinuz\"}"
cmp "$T/vmlinuz" "$T/state/images/twodirs/vmlinuz" || fail "the kernel from the second import directory differs"
expect 403 POST /v1/images "{\"name\":\"x\",\"source\":\"$T/suid\"}"
log "import_dirs of two directories: a source below one, its kernel below the other; a third path is 403"

stop_zerod
no_import_left
assert_nothing_left
echo PASS

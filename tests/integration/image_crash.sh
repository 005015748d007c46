#!/usr/bin/env bash
# Imports and crashes. At every fault point of the import operation (zerod --list-fault-points),
# for an upload and for a host directory, zerod dies and the next one finishes the import: the
# image is whole, its work directory gone. zerod killed -9 while zero-unpack runs takes the helper
# with it; the next zerod runs the step again and the import ends well. zerod killed while an
# upload's body comes in leaves a file that the next one removes. No half image, no temp
# directory, no process is left.
. "$(dirname "$0")/lib.sh"
ulimit -c 0

points=$("$ZEROD" --list-fault-points) || fail "zerod has no fault points: build with -DZERO_FAULT_INJECTION=ON"
grep -qx 'import.unpack' <<<"$points" && grep -qx 'import.commit.done' <<<"$points" ||
  fail "no fault points of import in: $points"

start_zerod
"$ZERO_SOURCE_DIR/deploy/make-busybox-rootfs" "$T/bb" >/dev/null
tar -C "$T/bb" -czf "$T/bb.tgz" .

work_gone() {
  for _ in $(seq 1 50); do [ -z "$(ls -A "$T/state/images/.import" 2>/dev/null)" ] && return 0; sleep 0.1; done
  fail "import work left: $(ls -la "$T/state/images/.import")"
}
# whole NAME: the image is recorded, its tree is the source's, its base is a clean ext4
whole() {
  expect 200 GET "/v1/images/$1"
  diff -r "$T/bb" "$T/state/images/$1/rootfs" >/dev/null || fail "image $1's tree differs from its source"
  e2fsck -fn "$T/state/images/$1/base.ext4" >/dev/null 2>&1 || fail "image $1's base.ext4 is not clean"
  work_gone
  ! pgrep -f "zero-unpack.*$T" >/dev/null || fail "a zero-unpack is left"
}

n=0
for p in $(grep '^import\.' <<<"$points"); do
  n=$((n + 1))
  die_at "$p" upload POST "/v1/images?name=u$n" "$T/bb.tgz" application/gzip
  whole "u$n"
  die_at "$p" api POST /v1/images "{\"name\":\"h$n\",\"source\":\"$T/bb\"}"
  whole "h$n"
done
log "import: $n fault points, each finished by the next zerod (upload and host directory), nothing left"

# kill -9 while zero-unpack runs: the helper dies with zerod (PR_SET_PDEATHSIG); the step is
# run again from the start by the next zerod.
mkdir -p "$T/slow"
cp -a "$T/bb/." "$T/slow/"
head -c 200M /dev/urandom | split -b 1M - "$T/slow/f"
expect 202 POST /v1/images "{\"name\":\"slow\",\"source\":\"$T/slow\"}"
op=$(jbody .id)
for _ in $(seq 1 100); do pgrep -f "zero-unpack.*$T" >/dev/null && break; sleep 0.05; done
helper=$(pgrep -f "zero-unpack.*$T") || fail "zero-unpack never ran"
sleep 0.5
crash_zerod
for _ in $(seq 1 50); do kill -0 "$helper" 2>/dev/null || break; sleep 0.05; done
kill -0 "$helper" 2>/dev/null && fail "zero-unpack $helper outlived zerod"
[ -d "$T/state/images/slow" ] && fail "a half image under the real name"
start_zerod
wait_op "$op"
expect 200 GET /v1/images/slow
diff -r "$T/slow" "$T/state/images/slow/rootfs" >/dev/null || fail "the resumed import's tree differs"
work_gone
log "kill -9 during zero-unpack: the helper died with zerod, the next zerod imported it whole"

# kill -9 while an upload's body comes in: no operation yet; the next zerod removes the file
mkfifo "$T/slowbody"
curl -sS --unix-socket "$SOCK" -o /dev/null -X POST -H 'Content-Type: application/x-tar' -H 'Transfer-Encoding: chunked' \
  -T - 'http://zero/v1/images?name=cut' <"$T/slowbody" >/dev/null 2>&1 &
cpid=$!
exec 7>"$T/slowbody"
head -c 4M "$T/bb.tgz" >&7 || true
tar -C "$T/bb" -cf - . >&7
for _ in $(seq 1 50); do [ -n "$(ls -A "$T/state/images/.import" 2>/dev/null)" ] && break; sleep 0.05; done
[ -n "$(ls -A "$T/state/images/.import" 2>/dev/null)" ] || fail "the upload made no work directory"
crash_zerod
exec 7>&-
wait "$cpid" 2>/dev/null || true
start_zerod
work_gone
expect 404 GET /v1/images/cut
log "kill -9 during an upload: no image, the next zerod removed the partial upload"

stop_zerod
assert_nothing_left
echo PASS

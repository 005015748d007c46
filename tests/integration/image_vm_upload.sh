#!/usr/bin/env bash
# The image layout of deploy/images/build-busybox-image (rootfs/, vmlinuz, initrd.img) uploaded
# as one tar body, to a zerod that takes no host path at all: the image has its kernel and
# initramfs, boots as a VM (QEMU TCG) and runs as a container.
. "$(dirname "$0")/lib.sh"
: "${ZERO_BUILD_DIR:?ZERO_BUILD_DIR must point at the build tree (set by ctest)}"

ZERO_IMAGE_CACHE=${ZERO_IMAGE_CACHE:-$ZERO_BUILD_DIR/image-cache} \
  "$ZERO_SOURCE_DIR/deploy/images/build-busybox-image" "$T/img" >"$T/image.log" 2>&1 ||
  fail "image build failed: $(tail -5 "$T/image.log")"
IMPORT_DIRS= start_zerod
expect 403 POST /v1/images "{\"name\":\"bb\",\"source\":\"$T/img/rootfs\"}"
grep -q 'import_dirs is empty' "$BODY" || fail "the 403 does not give the rule: $(cat "$BODY")"

tar -C "$T/img" -czf "$T/layout.tgz" .
upload POST '/v1/images?name=bb' "$T/layout.tgz" application/gzip
[ "$STATUS" = 202 ] || fail "layout upload: HTTP $STATUS: $(cat "$BODY")"
wait_op "$(jbody .id)"
expect 200 GET /v1/images/bb
[ "$(jbody .kernel)/$(jbody .initrd)/$(jbody .source)" = true/true/upload ] || fail "the uploaded layout: $(cat "$BODY")"
cmp "$T/img/vmlinuz" "$T/state/images/bb/vmlinuz" || fail "the image's kernel differs from the uploaded one"
cmp "$T/img/initrd.img" "$T/state/images/bb/initrd.img" || fail "the image's initramfs differs"
[ -e "$T/state/images/bb/rootfs/kernel-release" ] && fail "the layout's top level went into the rootfs"
diff -r "$T/img/rootfs" "$T/state/images/bb/rootfs" >/dev/null || fail "the image's rootfs differs from the layout's"
log "the uploaded layout is an image with a kernel and an initramfs"

expect 202 POST /v1/instances '{"name":"v1","mode":"vm","image":"bb","memory_mib":256,"command":["/bin/sh","-c","echo VM-FROM-UPLOAD $(uname -r)"]}'
wait_op "$(jbody .id)"
wait_console v1 "VM-FROM-UPLOAD $(cat "$T/img/kernel-release")" 60
act DELETE '/v1/instances/v1?force=true'
act POST /v1/instances '{"name":"c1","image":"bb","command":["/bin/sh","-c","echo CONTAINER-FROM-UPLOAD"]}'
wait_console c1 CONTAINER-FROM-UPLOAD
act DELETE '/v1/instances/c1?force=true'
log "a VM boots the uploaded image and a container runs it"

stop_zerod
assert_nothing_left
echo PASS

#!/usr/bin/env bash
# An aarch64 guest through zerod's API (issue 17 item 1, docs/aarch64.md): the unified image built
# for arm64 (ZERO_IMAGE_ARCH=arm64: Debian's linux-image-6.1.0-N-cloud-arm64 and
# busybox-static:arm64), imported, and a vm instance of it on this x86-64 machine: the vm plugin
# reads the kernel's architecture and runs qemu-system-aarch64 -M virt under TCG, with the card's
# exports as on q35 (the root volume on vhost-user-blk, a NIC on virtio-net). The guest prints
# its marker and its NIC's address on the PL011 console; the stop, the delete and nothing left.
# Debian: qemu-system-arm (fails, does not skip, without it), and dpkg's arm64 architecture.
. "$(dirname "$0")/lib.sh"

command -v qemu-system-aarch64 >/dev/null || fail "qemu-system-aarch64 is missing (Debian: qemu-system-arm)"
: "${ZERO_BUILD_DIR:?ZERO_BUILD_DIR must point at the build tree (set by ctest)}"
ZERO_IMAGE_ARCH=arm64 ZERO_IMAGE_CACHE=${ZERO_IMAGE_CACHE:-$ZERO_BUILD_DIR/image-cache} \
  "$ZERO_SOURCE_DIR/deploy/images/build-busybox-image" "$T/img" >"$T/image.log" 2>&1 ||
  fail "arm64 image build failed: $(tail -5 "$T/image.log")"
file_out=$(od -An -c -j 56 -N 4 "$T/img/vmlinuz" | tr -d ' ')
[ "$file_out" = 'ARMd' ] || fail "the arm64 image's vmlinuz is no arm64 Image: magic '$file_out'"
log "$(grep -o 'kernel [0-9][^;]*' "$T/image.log")"

start_zerod
act POST /v1/images "{\"name\":\"arm\",\"source\":\"$T/img/rootfs\",\"kernel\":\"$T/img/vmlinuz\",\"initrd\":\"$T/img/initrd.img\"}"
expect 201 POST /v1/networks '{"name":"net1","subnet":"10.66.0.0/24"}'
cmd='echo zero-arm-marker-$(uname -m); ip -4 -o addr show | grep -o "inet 10[.0-9]*"; exec sleep 600'
started=$SECONDS
expect 202 POST /v1/instances "{\"name\":\"a1\",\"mode\":\"vm\",\"image\":\"arm\",\"memory_mib\":256,\"nics\":[{\"network\":\"net1\"}],\"command\":[\"/bin/sh\",\"-c\",$(jq -Rn --arg c "$cmd" '$c')]}"
wait_op "$(jbody .id)"
[ "$(inst a1 state)" = running ] || fail "a1 is not running: $(cat "$BODY")"

# The QEMU that runs it: the aarch64 one, the virt machine, TCG, the PL011 console.
qemu=$(pgrep -f "qemu-system-aarch64 .*guest=a1,.*$T/" | head -n 1 || true)
[ -n "$qemu" ] || fail "no qemu-system-aarch64 runs a1: $(pgrep -af qemu-system || true)"
tr '\0' ' ' <"/proc/$qemu/cmdline" >"$T/qemu.cmdline"
for want in '-machine virt,gic-version=max,memory-backend=mem' '-accel tcg' 'console=ttyAMA0' 'vhost-user-blk-pci' 'virtio-net-pci'; do
  grep -q -- "$want" "$T/qemu.cmdline" || fail "a1's QEMU has no '$want': $(cat "$T/qemu.cmdline")"
done

wait_console a1 'zero-arm-marker-aarch64' 300
ip=$(inst a1 'nics[0].ip')
wait_console a1 "inet $ip" 30
log "a1 booted aarch64 under TCG in $((SECONDS - started)) s; its NIC has $ip"

# Without ACPI (direct kernel boot on virt) the guest has no power button: a stop is QEMU's quit.
act POST /v1/instances/a1/stop '{"timeout_s":0}'
[ "$(inst a1 state)" = stopped ] || fail "a1 did not stop: $(cat "$BODY")"
alive "$qemu" && fail "a1's QEMU ($qemu) outlived its stop"
act DELETE /v1/instances/a1

# A kernel of no architecture known here (an arm64 Image compressed, as some distributions ship
# it): the create fails with the reason, and no QEMU was started.
gzip -c "$T/img/vmlinuz" >"$T/vmlinuz.gz"
act POST /v1/images "{\"name\":\"armgz\",\"source\":\"$T/img/rootfs\",\"kernel\":\"$T/vmlinuz.gz\",\"initrd\":\"$T/img/initrd.img\"}"
expect 202 POST /v1/instances '{"name":"a2","mode":"vm","image":"armgz","memory_mib":256,"command":["true"]}'
wait_op "$(jbody .id)" failed
grep -q "its kernel is of no architecture known here" "$BODY" || fail "a compressed Image: $(cat "$BODY")"
pgrep -f "qemu-system-.*guest=a2,.*$T/" >/dev/null && fail "a QEMU runs a2: $(pgrep -af "qemu-system-.*guest=a2,.*$T/")"
log "a kernel of no known architecture: $(jbody .error.message)"
api DELETE /v1/instances/a2
[ "$STATUS" = 202 ] && wait_op "$(jbody .id)"
expect 204 DELETE /v1/networks/net1
stop_zerod
assert_nothing_left

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# deploy/images/build-busybox-image end to end: builds the image (the kernel package is downloaded
# once into $ZERO_IMAGE_CACHE, by default under the build tree), builds it again with apt-get
# unavailable (the cache must serve), then boots it with plain QEMU under TCG (nested KVM hangs on
# the test machines) from an ext4 root volume made by `mkfs.ext4 -d`:
#   - as virtio-blk, virtio-scsi and NVMe: the command reads a file that exists only on that
#     volume, says which disk / is, writes a file (read back afterwards with debugfs) and exits 7;
#     the exit status must come back on the console and the volume must be clean (e2fsck -fn);
#   - with a NIC on an unconnected QEMU hub (it reaches nothing): zero.ip lands on eth0; with two
#     NICs, zero.mac picks the second and zero.gw gives the default route;
#   - with a root disk that never appears: a "zero-init: ERROR" line and a poweroff, not a hang;
#   - with a command that never ends: QMP system_powerdown (what zerod sends before it kills a VM)
#     presses the ACPI power button, and the guest stops the command and powers off by itself, the
#     volume clean.
# Debian packages: qemu-system-x86 e2fsprogs busybox-static socat (a missing tool is a failure).
set -euo pipefail

src=${ZERO_SOURCE_DIR:?ZERO_SOURCE_DIR is not set}
build=${ZERO_BUILD_DIR:?ZERO_BUILD_DIR is not set}
export ZERO_IMAGE_CACHE=${ZERO_IMAGE_CACHE:-$build/image-cache}
BOOT_TIMEOUT=60

log() { echo "# $*"; }
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
for tool in qemu-system-x86_64 mkfs.ext4 debugfs e2fsck busybox timeout socat; do
	command -v "$tool" >/dev/null ||
		fail "$tool is missing (Debian packages: qemu-system-x86 e2fsprogs busybox-static coreutils socat)"
done

T=$(mktemp -d /tmp/zero-vm-image.XXXXXX)
QEMU_PID= # the `timeout` wrapping the running qemu; qemu's own pid is in $T/qemu.pid
cleanup() {
	local rc=$? p
	set +e
	if [[ -n $QEMU_PID ]]; then
		p=$(cat "$T/qemu.pid" 2>/dev/null)
		# Only the qemu this test started: its command line names our directory.
		if [[ -n $p ]] && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$T/"; then
			kill -KILL "$p"
		fi
		kill -KILL "$QEMU_PID" 2>/dev/null
		wait "$QEMU_PID" 2>/dev/null
	fi
	rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the builder -----------------------------------------------------------------------------
img=$T/image
log "building the image (kernel packages cached in $ZERO_IMAGE_CACHE)"
"$src/deploy/images/build-busybox-image" "$img" >"$T/build1.log" 2>&1 ||
	fail "build-busybox-image failed: $(cat "$T/build1.log")"
cat "$T/build1.log"
cp "$img/vmlinuz" "$T/vmlinuz.first"

# Again over the existing OUTDIR, with an apt-get that fails: the kernel must come from the cache.
mkdir "$T/noapt"
printf '#!/bin/sh\necho "apt-get $* must not run: the kernel package is cached" >&2\nexit 97\n' >"$T/noapt/apt-get"
chmod +x "$T/noapt/apt-get"
PATH="$T/noapt:$PATH" "$src/deploy/images/build-busybox-image" "$img" >"$T/build2.log" 2>&1 ||
	fail "second build (apt-get unavailable) failed: $(cat "$T/build2.log")"
grep -q 'cached' "$T/build2.log" || fail "second build did not say it used the cache: $(cat "$T/build2.log")"
cmp -s "$img/vmlinuz" "$T/vmlinuz.first" || fail "the second build has another kernel"

# OUTDIR is replaced as a whole, so a directory that is not an image must be refused, untouched.
mkdir "$T/not-an-image"
echo keep >"$T/not-an-image/precious"
if "$src/deploy/images/build-busybox-image" "$T/not-an-image" >"$T/build3.log" 2>&1; then
	fail "build-busybox-image replaced a directory that was not an image"
fi
[[ $(cat "$T/not-an-image/precious" 2>/dev/null) == keep ]] || fail "build-busybox-image damaged a directory it refused"

for f in vmlinuz initrd.img kernel-release rootfs/bin/busybox rootfs/etc/passwd; do
	[[ -s $img/$f ]] || fail "image lacks $f"
done
for d in dev proc sys tmp; do [[ -d $img/rootfs/$d ]] || fail "rootfs lacks /$d"; done
[[ -L $img/rootfs/bin/sh ]] || fail "rootfs lacks the /bin/sh applet link"
release=$(cat "$img/kernel-release")
[[ $release =~ ^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+-cloud-amd64$ ]] || fail "odd kernel release '$release'"

# The initramfs: a gzip'd newc cpio with /init, and the modules in dependency order.
gzip -t "$img/initrd.img" || fail "initrd.img is not gzip"
zcat "$img/initrd.img" | busybox cpio -t >"$T/initrd.list" 2>/dev/null || fail "initrd.img is not a cpio archive"
mkdir "$T/initrd"
(cd "$T/initrd" && zcat "$img/initrd.img" | busybox cpio -i -d 2>/dev/null) || fail "cannot unpack initrd.img"
[[ -x $T/initrd/init && -x $T/initrd/bin/busybox ]] || fail "initrd.img lacks /init or /bin/busybox"
order=$T/initrd/lib/modules/load-order
[[ -s $order ]] || fail "initrd.img lacks lib/modules/load-order"
while read -r ko; do
	[[ -s $T/initrd/lib/modules/$ko ]] || fail "load-order names $ko, which initrd.img lacks"
done <"$order"
pos() { grep -nx "$1.ko" "$order" | cut -d: -f1; }
before() { # before A B: module A is loaded before module B
	local a b
	a=$(pos "$1")
	b=$(pos "$2")
	[[ -n $a && -n $b ]] || fail "load-order lacks $1 or $2: $(tr '\n' ' ' <"$order")"
	((a < b)) || fail "load-order loads $2 before its dependency $1: $(tr '\n' ' ' <"$order")"
}
before virtio_ring virtio
before virtio virtio_pci
before virtio_pci_modern_dev virtio_pci
before virtio_pci_legacy_dev virtio_pci
before virtio virtio_blk
before scsi_mod virtio_scsi
before scsi_mod sd_mod
before failover net_failover
before net_failover virtio_net
[[ -n $(pos button) && -n $(pos evdev) ]] ||
	fail "load-order lacks button or evdev (the power button): $(tr '\n' ' ' <"$order")"
log "kernel $release; initramfs modules: $(tr '\n' ' ' <"$order")"

# --- boots -----------------------------------------------------------------------------------
rootfs=$T/rootfs
cp -a "$img/rootfs" "$rootfs"
token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
echo "$token" >"$rootfs/etc/zero-probe" # exists only on the volumes this test makes

volume() { # volume NAME: a fresh ext4 root volume made from the rootfs
	truncate -s 64M "$T/$1.ext4"
	mkfs.ext4 -q -F -d "$rootfs" "$T/$1.ext4" || fail "mkfs.ext4 -d failed"
}

# start NAME APPEND [QEMU ARGS...]: starts the image in the background ($QEMU_PID); the console
# goes to $T/NAME.serial. finish NAME: waits until the guest powers off; the console (without its
# carriage returns) is left in $T/NAME.console. Fails when qemu fails or the guest hangs.
# boot NAME APPEND [QEMU ARGS...]: both.
start() {
	local name=$1 append=$2
	shift 2
	BOOT_START=$(date +%s%N)
	timeout -k 5 "$BOOT_TIMEOUT" qemu-system-x86_64 -accel tcg -nodefaults -no-user-config \
		-display none -monitor none -no-reboot -m 256 -pidfile "$T/qemu.pid" \
		-serial "file:$T/$name.serial" -kernel "$img/vmlinuz" -initrd "$img/initrd.img" \
		-append "console=ttyS0 panic=-1 $append" "$@" </dev/null >"$T/$name.qemu" 2>&1 &
	QEMU_PID=$!
}
finish() {
	local name=$1 rc=0
	wait "$QEMU_PID" || rc=$?
	QEMU_PID=
	BOOT_MS=$((($(date +%s%N) - BOOT_START) / 1000000))
	tr -d '\r' <"$T/$name.serial" >"$T/$name.console" 2>/dev/null || true
	if [[ $rc == 124 || $rc == 137 ]]; then
		fail "$name: the guest did not power off within $BOOT_TIMEOUT s; console ends with:
$(tail -n 30 "$T/$name.console")"
	fi
	[[ $rc == 0 ]] || fail "$name: qemu exited with status $rc: $(cat "$T/$name.qemu")"
}
boot() {
	start "$@"
	finish "$1"
}

console_has() { # console_has NAME LINE: the console has exactly this line
	grep -qxF -- "$2" "$T/$1.console" ||
		fail "$1: the console lacks the line '$2'; it ends with:
$(tail -n 30 "$T/$1.console")"
}

console_lacks() { # console_lacks NAME TEXT: no line of the console holds TEXT
	if grep -qF -- "$2" "$T/$1.console"; then
		fail "$1: the console has '$(grep -F -- "$2" "$T/$1.console" | head -n 1)'"
	fi
}

clean_volume() { # clean_volume NAME: the volume was remounted read-only before poweroff
	console_lacks "$1" "cannot remount"
	# Read-only before poweroff: the journal is checkpointed, the volume clean.
	if debugfs -R features "$T/$1.ext4" 2>/dev/null | grep -qw needs_recovery; then
		fail "$1: the volume still needs journal recovery after poweroff"
	fi
	e2fsck -fn "$T/$1.ext4" >"$T/$1.fsck" 2>&1 || fail "$1: e2fsck -fn: $(cat "$T/$1.fsck")"
}

no_error() {
	if grep -q 'zero-init: ERROR' "$T/$1.console"; then
		fail "$1: $(grep 'zero-init: ERROR' "$T/$1.console")"
	fi
}

b64() { printf '%s' "$1" | base64 -w0; }

# The command in each personality; $P is substituted here, the rest runs in the guest.
disk_cmd() {
	b64 "echo \"vm-image-test $1 probe=\$(cat /etc/zero-probe) root=\$(awk '\$2 == \"/\" {print \$1}' /proc/mounts)\"
echo \"$1 \$(cat /etc/zero-probe)\" >/probe-out
echo \"vm-image-test $1 cwd=\$(pwd) PATH=\$PATH\"
exit 7"
}

declare -A timings=()
personality() { # personality NAME DEVICE QEMU-DEVICE-ARGS...
	local name=$1 dev=$2 out
	shift 2
	volume "$name"
	boot "$name" "zero.cmd=$(disk_cmd "$name")" \
		-drive "file=$T/$name.ext4,if=none,id=d0,format=raw" "$@"
	no_error "$name"
	console_has "$name" "zero-init: root $dev mounted"
	console_has "$name" "vm-image-test $name probe=$token root=$dev"
	console_has "$name" "vm-image-test $name cwd=/ PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	console_has "$name" "zero-init: command exited with status 7"
	console_lacks "$name" "zero-init: power button: stopping"
	out=$(debugfs -R 'cat /probe-out' "$T/$name.ext4" 2>/dev/null)
	[[ $out == "$name $token" ]] || fail "$name: /probe-out on the volume holds '$out', not '$name $token'"
	clean_volume "$name"
	timings[$name]=$BOOT_MS
	log "$name: booted, ran the command from $dev and powered off in $BOOT_MS ms"
}

personality virtio-blk /dev/vda -device virtio-blk-pci,drive=d0
personality virtio-scsi /dev/sda -device virtio-scsi-pci -device scsi-hd,drive=d0
personality nvme /dev/nvme0n1 -device nvme,serial=zero0,drive=d0
grep -qE '^zero-init: power button /dev/input/event[0-9]+$' "$T/virtio-blk.console" ||
	fail "virtio-blk: /init found no power button: $(grep 'zero-init' "$T/virtio-blk.console")"

# NICs on QEMU hubs connected to nothing: no traffic leaves the guest, addresses are all we check.
# shellcheck disable=SC2016 # expanded in the guest
net_cmd=$(b64 'for i in eth0 eth1; do
	[ -e /sys/class/net/$i ] || continue
	echo "vm-image-test $i addr=$(ip -4 -o addr show dev $i | awk "{print \$4}") up=$(ip -o link show dev $i | grep -c "[<,]UP[,>]")"
done
echo "vm-image-test route=$(echo $(ip route | grep ^default))"')
volume net
boot net "zero.ip=10.77.0.5/24 zero.cmd=$net_cmd" \
	-drive "file=$T/net.ext4,if=none,id=d0,format=raw" -device virtio-blk-pci,drive=d0 \
	-netdev hubport,id=n0,hubid=0 -device virtio-net-pci,netdev=n0,mac=52:54:00:77:00:01
no_error net
console_has net "zero-init: eth0 10.77.0.5/24"
console_has net "vm-image-test eth0 addr=10.77.0.5/24 up=1"
console_has net "vm-image-test route="
timings[net]=$BOOT_MS
log "net: eth0 got zero.ip in $BOOT_MS ms"

# Two NICs: zero.mac (in capitals: MACs compare case-blind) picks the second one.
volume net-mac
boot net-mac "zero.root=/dev/vda zero.ip=10.77.0.5/24 zero.gw=10.77.0.1 zero.mac=52:54:00:77:00:0A zero.cmd=$net_cmd" \
	-drive "file=$T/net-mac.ext4,if=none,id=d0,format=raw" -device virtio-blk-pci,drive=d0 \
	-netdev hubport,id=n0,hubid=0 -device virtio-net-pci,netdev=n0,mac=52:54:00:77:00:01 \
	-netdev hubport,id=n1,hubid=1 -device virtio-net-pci,netdev=n1,mac=52:54:00:77:00:0a
no_error net-mac
console_has net-mac "zero-init: root /dev/vda mounted"
console_has net-mac "zero-init: eth1 10.77.0.5/24 via 10.77.0.1"
console_has net-mac "vm-image-test eth0 addr= up=0"
console_has net-mac "vm-image-test eth1 addr=10.77.0.5/24 up=1"
console_has net-mac "vm-image-test route=default via 10.77.0.1 dev eth1"
timings[net-mac]=$BOOT_MS
log "net-mac: zero.mac chose eth1 in $BOOT_MS ms"

# A root disk that never shows up: an ERROR line and a poweroff well before the boot timeout.
volume missing
boot missing "zero.root=/dev/vdz zero.rootwait=1 zero.cmd=$(b64 'echo must not run')" \
	-drive "file=$T/missing.ext4,if=none,id=d0,format=raw" -device virtio-blk-pci,drive=d0
console_has missing "zero-init: ERROR root disk /dev/vdz did not appear within 1 s"
if grep -q 'zero-init: command exited' "$T/missing.console"; then fail "missing: the command ran"; fi
timings[missing]=$BOOT_MS
log "missing: failed fast with an ERROR line in $BOOT_MS ms"

# The power button: QMP system_powerdown once the command runs (it never ends by itself). The
# guest must stop it and power off by itself, well before zerod would kill it (10 s by default).
volume powerdown
start powerdown "zero.cmd=$(b64 'echo PB-READY; sleep 1000')" \
	-drive "file=$T/powerdown.ext4,if=none,id=d0,format=raw" -device virtio-blk-pci,drive=d0 \
	-qmp "unix:$T/qmp.sock,server=on,wait=off"
for ((i = 0; i < BOOT_TIMEOUT * 10; i++)); do
	grep -q '^PB-READY' "$T/powerdown.serial" 2>/dev/null && break
	kill -0 "$QEMU_PID" 2>/dev/null || break
	sleep 0.1
done
grep -q '^PB-READY' "$T/powerdown.serial" 2>/dev/null ||
	fail "powerdown: the command did not start: $(tr -d '\r' <"$T/powerdown.serial" 2>/dev/null | tail -n 30)"
pressed=$(date +%s%N)
# The connection stays open until both replies are in: QEMU drops the requests that it has read but
# not yet run when the client goes away.
# shellcheck disable=SC2094 # the loop reads the replies that socat writes, on purpose
{
	printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"system_powerdown"}'
	for ((i = 0; i < 50; i++)); do
		[[ $(grep -c '"return"' "$T/qmp.out" 2>/dev/null) -ge 2 ]] && break
		sleep 0.1
	done
} | socat -t 1 - "UNIX-CONNECT:$T/qmp.sock" >"$T/qmp.out" 2>&1 || fail "powerdown: QMP: $(cat "$T/qmp.out")"
[[ $(grep -c '"return": {}' "$T/qmp.out") -ge 2 ]] || fail "powerdown: QMP did not accept system_powerdown: $(cat "$T/qmp.out")"
for ((i = 0; i < 100; i++)); do
	kill -0 "$QEMU_PID" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$QEMU_PID" 2>/dev/null; then
	fail "powerdown: the guest ignored system_powerdown for 10 s; console ends with:
$(tr -d '\r' <"$T/powerdown.serial" | tail -n 30)"
fi
stop_ms=$((($(date +%s%N) - pressed) / 1000000))
finish powerdown
no_error powerdown
console_has powerdown "zero-init: power button: stopping"
console_has powerdown "zero-init: command exited with status 143"
clean_volume powerdown
timings[powerdown]=$BOOT_MS
log "powerdown: system_powerdown to qemu exit in $stop_ms ms (boot to poweroff $BOOT_MS ms)"

log "boot times (qemu start to poweroff, TCG):$(for n in virtio-blk virtio-scsi nvme net net-mac missing powerdown; do
	printf ' %s %s ms;' "$n" "${timings[$n]}"
done)"
echo "vm_image: all checks passed"

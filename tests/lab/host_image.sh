#!/usr/bin/env bash
# The lab's host image (deploy/images/build-host-image, issue 13 item 3) booted as the host VM
# under TCG, as the card will boot it: no disk and no network of its own but a blank state volume
# (virtio-blk, serial = the volume's id), the management NIC on QEMU user networking (restrict=on,
# zerod's TLS port forwarded to the test), and the configuration over fw_cfg (zerod.conf, the
# API token, the state volume's serial, the TLS certificate). Its zerod uses the softcard inside
# the host for now (the lab's card driver comes later), so its volumes live on the state volume.
#   - the image builds (cached: a second build with nothing changed stops at "up to date");
#   - a state volume that is neither ext4 nor blank is refused untouched: one ERROR line, power off;
#   - zerod answers GET /v1/node over the forwarded port with the token (curl --cacert): the
#     figure "host boot to zerod ready" (blueprint: <= 10 s under TCG);
#   - cgroup v2 is the host's one hierarchy, memory and cpu among its controllers, and the
#     container plugin enforces limits (features.cgroups_enforced);
#   - the busybox image (deploy/images/build-busybox-image) uploaded; a container with
#     memory_mib 32 that allocates 64 MiB is OOM-killed (exit code 137, the kernel's memory
#     cgroup OOM line); one with cpus 1 reads its quota in cpu.max;
#   - the host powered off with the ACPI button (QMP system_powerdown): a clean stop, the state
#     volume clean (e2fsck); powered on again: the rows, the image, the token registration and
#     the container's root volume (a file it wrote) are all there, and the container that ran
#     runs again.
#   - the management link: the host reached the card's API (a stand-in on a unix socket of the
#     test) through QEMU's guestfwd;
# Debian packages: qemu-system-x86 qemu-utils e2fsprogs busybox-static crun openssl socat lz4 binutils
# (a missing tool, or an image that cannot be built, fails the test: it never passes without
# booting the host).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"

: "${ZERO_BUILD_DIR:?ZERO_BUILD_DIR must point at the build tree (set by ctest)}"
for tool in qemu-system-x86_64 e2fsck openssl socat curl jq tar; do
  command -v "$tool" >/dev/null ||
    fail "$tool is missing (Debian packages: qemu-system-x86 e2fsprogs openssl socat curl jq tar)"
done
export ZERO_IMAGE_CACHE=${ZERO_IMAGE_CACHE:-$ZERO_BUILD_DIR/image-cache}
BOOT_TIMEOUT=90 # s: a first boot under TCG on a loaded machine; about 10 s when idle
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# The host's console is what fail() shows (lib.sh shows zerod.log, which the host has not).
CONSOLE=
fail() {
  echo "FAIL: $*" >&2
  if [ -n "$CONSOLE" ] && [ -f "$CONSOLE" ]; then
    echo "--- last lines of the host's console ($CONSOLE)" >&2
    tr -d '\r' <"$CONSOLE" | tail -n 40 >&2
  fi
  exit 1
}

# What this test makes on this machine is processes and files under $T (the host's mounts and
# loop devices are inside the VM): its cleanup kills and removes those, and skips lib.sh's
# losetup -a, which waits seconds on other tests' loop devices.
cleanup() {
  local rc=$?
  if [ -n "${KEEP:-}" ]; then echo "kept $T" >&2; exit $rc; fi
  set +e
  pkill -9 -f "$T" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$T"
  exit $rc
}

# --- the images --------------------------------------------------------------------------------
# The busybox image meanwhile, on the other core, until the first boot: its rootfs is what the
# containers run.
"$ZERO_SOURCE_DIR/deploy/images/build-busybox-image" "$T/bb" >"$T/bb.log" 2>&1 &
BB_PID=$!
IMG=$ZERO_BUILD_DIR/lab/host-image
t0=$(now_ms)
"$ZERO_SOURCE_DIR/deploy/images/build-host-image" --build-dir "$ZERO_BUILD_DIR" --with-softcard "$IMG" \
  >"$T/host-image.log" 2>&1 || fail "build-host-image failed: $(tail -n 5 "$T/host-image.log")"
build_ms=$(($(now_ms) - t0))
sed 's/^/# /' "$T/host-image.log"
t0=$(now_ms)
"$ZERO_SOURCE_DIR/deploy/images/build-host-image" --build-dir "$ZERO_BUILD_DIR" --with-softcard "$IMG" \
  >"$T/host-image2.log" 2>&1 || fail "the second build-host-image failed: $(tail -n 5 "$T/host-image2.log")"
cached_ms=$(($(now_ms) - t0))
grep -q 'is up to date' "$T/host-image2.log" || fail "a second build with nothing changed built again: $(cat "$T/host-image2.log")"
# vmlinux: the kernel decompressed, booted through its PVH entry (lz4 and binutils are here).
for f in vmlinuz vmlinux initrd.img kernel-release contents build-key; do [ -s "$IMG/$f" ] || fail "the host image lacks $f"; done
for f in /init /usr/bin/zerod /usr/libexec/zero/zero-shim /usr/lib/zero/plugins/container.so \
  /usr/lib/zero/plugins/softcard.so /usr/bin/crun /usr/sbin/mke2fs /usr/bin/qemu-storage-daemon /usr/lib/modules/qemu_fw_cfg.ko; do
  grep -q " $f\( \|$\)" "$IMG/contents" || fail "the host image has no $f: $(head -c 300 "$IMG/contents")"
done
log "host image: $(du -k "$IMG/initrd.img" | cut -f1) KiB initrd.img + $(du -k "$IMG/vmlinuz" | cut -f1) KiB vmlinuz; build ${build_ms} ms, again ${cached_ms} ms (up to date)"

# --- what the card hands the host ----------------------------------------------------------------
CARD=$T/card
mkdir -p "$CARD"
API_TOKEN=zero_$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
echo "$API_TOKEN" >"$CARD/token"
# The certificate names the address the test reaches zerod at: the forwarded port on loopback.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=zero-host \
  -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout "$CARD/tls.key" -out "$CARD/tls.crt" 2>"$T/openssl.log" ||
  fail "openssl cannot make the certificate: $(cat "$T/openssl.log")"
API_CACERT=$CARD/tls.crt
STATE_SERIAL=zst-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
echo "$STATE_SERIAL" >"$CARD/state-volume"
cat >"$CARD/zerod.conf" <<EOF
[agent]
listen = tcp:0.0.0.0:8443
log_level = info
[card]
driver = softcard
EOF
# The management link: the card's API, here a stand-in that answers every request and notes it,
# on a unix socket of the card's; the host reaches it as 10.0.2.100:80 (QEMU's guestfwd) and
# nothing else (restrict=on).
cat >"$CARD/api.sh" <<EOF
#!/bin/sh
read -r line
echo "\$line" >>"$CARD/api.requests"
printf 'HTTP/1.0 200 OK\\r\\nContent-Type: application/json\\r\\n\\r\\n{"card":"stand-in"}\\n'
EOF
chmod +x "$CARD/api.sh"
socat "UNIX-LISTEN:$CARD/api.sock,fork" "EXEC:$CARD/api.sh" >"$T/card-api.log" 2>&1 &
echo 10.0.2.100:80 >"$CARD/card"
# The state volume: sparse, blank; the host formats it at its first boot. Beside it two blank
# disks of other serials (NVMe, SCSI), which the host must leave alone.
truncate -s 2G "$T/state.img"
truncate -s 64M "$T/decoy-n.img" "$T/decoy-s.img"

BOOTS=0
QEMU_PID=
# start_host virtio|scsi FILE: starts the host VM (its console in $T/console.N) with FILE as its
# state volume, presented as virtio-blk or SCSI, beside the decoys; sets QEMU_PID and BOOT_T0.
start_host() {
  local state_dev=(-device "virtio-blk-pci,drive=state,serial=$STATE_SERIAL")
  [ "$1" = virtio ] || state_dev=(-device "scsi-hd,bus=scsi0.0,drive=state,serial=$STATE_SERIAL")
  BOOTS=$((BOOTS + 1))
  CONSOLE=$T/console.$BOOTS
  rm -f "$T/qmp.sock"
  BOOT_T0=$(now_ms)
  # -cpu max: TCG's RDRAND seeds the guest's RNG at once (with qemu64 the CRNG is not ready
  # for seconds, and mkfs.ext4's libuuid alone waits 3 s for it). cache=unsafe: the host
  # (this machine) does not crash in a test; a power cut is QEMU's end, and what QEMU wrote is
  # in this machine's page cache. romfile=: no iPXE option ROM to load.
  qemu-system-x86_64 -accel tcg -cpu max -machine q35 -m 1024 -smp 1 -nodefaults -no-user-config \
    -display none -no-reboot -serial "file:$CONSOLE" -qmp "unix:$T/qmp.sock,server=on,wait=off" \
    -kernel "$IMG/vmlinux" -initrd "$IMG/initrd.img" -append "console=ttyS0 panic=-1 quiet" \
    -fw_cfg "name=opt/zero/zerod.conf,file=$CARD/zerod.conf" -fw_cfg "name=opt/zero/token,file=$CARD/token" \
    -fw_cfg "name=opt/zero/state-volume,file=$CARD/state-volume" \
    -fw_cfg "name=opt/zero/tls.crt,file=$CARD/tls.crt" -fw_cfg "name=opt/zero/tls.key,file=$CARD/tls.key" \
    -fw_cfg "name=opt/zero/card,file=$CARD/card" \
    -drive "file=$2,if=none,id=state,format=raw,cache=unsafe" -device virtio-scsi-pci,id=scsi0 \
    "${state_dev[@]}" -drive "file=$T/decoy-n.img,if=none,id=dn,format=raw,cache=unsafe" -device nvme,drive=dn,serial=decoy-n \
    -drive "file=$T/decoy-s.img,if=none,id=ds,format=raw,cache=unsafe" -device scsi-hd,bus=scsi0.0,drive=ds,serial=decoy-s \
    -netdev "user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:0-:8443,guestfwd=tcp:10.0.2.100:80-cmd:socat STDIO UNIX-CONNECT:$CARD/api.sock" \
    -device virtio-net-pci,netdev=mgmt,romfile= \
    </dev/null >"$T/qemu.$BOOTS.log" 2>&1 &
  QEMU_PID=$!
}

# boot virtio|scsi: start_host with the state volume, and waits until zerod answers GET /v1/node
# over the forwarded port; sets API_URL and READY_MS (QEMU's start to that answer).
boot() {
  local port
  start_host "$1" "$T/state.img"
  # The forwarded port: QEMU picked a free one (hostfwd port 0); its user network says which.
  port=
  for _ in $(seq 1 100); do
    kill -0 "$QEMU_PID" 2>/dev/null || fail "QEMU exited: $(cat "$T/qemu.$BOOTS.log")"
    if [ -S "$T/qmp.sock" ]; then
      port=$(qmp '{"execute":"human-monitor-command","arguments":{"command-line":"info usernet"}}' |
        grep -o 'HOST_FORWARD[^\\]*' | awk '{ print $4 }' | head -n 1)
      [ -n "$port" ] && break
    fi
    sleep 0.1
  done
  [ -n "$port" ] || fail "QEMU's user network shows no forwarded port: $(cat "$T/qmp.out" 2>/dev/null)"
  API_URL=https://127.0.0.1:$port
  for _ in $(seq 1 $((BOOT_TIMEOUT * 10))); do
    kill -0 "$QEMU_PID" 2>/dev/null || fail "the host stopped during its boot"
    # -m: before zerod listens, QEMU's user network takes the connection and the TLS handshake
    # waits.
    if curl -s -m 2 -o /dev/null --cacert "$API_CACERT" -H "Authorization: Bearer $API_TOKEN" "$API_URL/v1/node"; then
      READY_MS=$(($(now_ms) - BOOT_T0))
      return 0
    fi
    sleep 0.1
  done
  fail "zerod in the host did not answer within $BOOT_TIMEOUT s"
}

# qmp JSON: runs one command on the host VM's QMP socket, prints the replies. The connection stays
# open until both replies are in: QEMU drops requests it has read but not run when the client goes.
qmp() {
  # shellcheck disable=SC2094 # the loop reads the replies that socat writes, on purpose
  {
    printf '%s\n' '{"execute":"qmp_capabilities"}' "$1"
    for _ in $(seq 1 50); do
      [ "$(grep -c '"return"' "$T/qmp.out" 2>/dev/null)" -ge 2 ] && break
      sleep 0.1
    done
  } | socat -t 1 - "UNIX-CONNECT:$T/qmp.sock" >"$T/qmp.out" 2>&1 || true
  cat "$T/qmp.out"
}

console() { tr -d '\r' <"$CONSOLE"; }

# --- a state volume that holds something else ---------------------------------------------------
# The host must refuse it, untouched, with one ERROR line, and power off: a wrong serial never
# costs anyone's data.
# A newline first: host-init once read the first non-zero byte with $(...), which drops a
# trailing newline, and formatted such a volume as blank.
{ printf '\n'; head -c $((1024 * 1024)) /dev/urandom; } >"$T/taken.img"
truncate -s 64M "$T/taken.img"
cp "$T/taken.img" "$T/taken.orig"
start_host virtio "$T/taken.img"
for _ in $(seq 1 $((BOOT_TIMEOUT * 10))); do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$QEMU_PID" 2>/dev/null && fail "the host did not power off on a state volume that is neither ext4 nor blank"
wait "$QEMU_PID" || true
QEMU_PID=
[ "$(console | grep -c '^zero-host: ERROR')" = 1 ] || fail "not one ERROR line on the taken volume"
console | grep -q "^zero-host: ERROR the state volume /dev/vda (serial $STATE_SERIAL) is neither ext4 nor blank: not formatting it" ||
  fail "the host did not refuse the taken volume"
cmp -s "$T/taken.img" "$T/taken.orig" || fail "the host wrote to a state volume it refused"
console | grep -q 'zerod started' && fail "zerod started on a refused state volume"
log "a state volume that is neither ext4 nor blank: $(console | grep '^zero-host: ERROR'), powered off after $(($(now_ms) - BOOT_T0)) ms"

# --- first boot --------------------------------------------------------------------------------------
# The busybox build is done by now, or waited for: nothing else of the test's runs while the host
# boots, so that the figure is the boot's.
wait "$BB_PID" || fail "build-busybox-image failed: $(tail -n 5 "$T/bb.log")"
tar -C "$T/bb/rootfs" -cf "$T/bb.tar" . || fail "cannot tar the busybox rootfs"
log "booting the host (first boot: a blank state volume, virtio-blk)"
boot virtio
first_ms=$READY_MS
log "host boot to zerod ready: $first_ms ms (first boot, the state volume formatted)"
console | grep -q "zero-host: state volume /dev/vda (serial $STATE_SERIAL) is blank: formatting it ext4" ||
  fail "the host did not format its blank state volume"
line=$(console | grep 'zero-host: cgroup2 (unified) at /sys/fs/cgroup: controllers') ||
  fail "the host did not mount cgroup2 unified"
for c in memory cpu pids; do
  echo "$line" | grep -qw "$c" || fail "cgroup2 in the host lacks the $c controller: $line"
done
log "${line#zero-host: }"

console | grep -q "zero-host: management link: the card's API at 10.0.2.100:80 answers" ||
  fail "the host did not reach the card's API over the management link"
grep -q '^GET / HTTP/1.0' "$CARD/api.requests" || fail "the card's API stand-in saw no request from the host"

expect 200 GET /v1/node
[ "$(jbody .features.cgroups_enforced)" = true ] ||
  fail "zerod in the host does not enforce cgroups: $(jq -c '{features, plugins: [.plugins[] | {name, reason}]}' "$BODY")"
[ "$(jbody .features.pids_limit_enforced)" = true ] || fail "zerod in the host does not enforce pids limits"
[ "$(jbody '.plugins[] | select(.name == "container") | .resource_limits_enforced')" = true ] ||
  fail "the container plugin does not enforce limits: $(cat "$BODY")"
# What the orchestrator sees is the card's token, and nothing without it.
STATUS=$(curl -s -m 5 -o /dev/null -w '%{http_code}' --cacert "$API_CACERT" "$API_URL/v1/node")
[ "$STATUS" = 401 ] || fail "GET /v1/node without the token: $STATUS, expected 401"

upload POST "/v1/images?name=bb" "$T/bb.tar" application/x-tar
[ "$STATUS" = 202 ] || fail "image upload: HTTP $STATUS: $(cat "$BODY")"
wait_op "$(jbody .id)"

# A container limited to 32 MiB that allocates 64 MiB (dd's buffer): the memory cgroup's OOM killer
# ends it, its init, with SIGKILL.
act POST /v1/instances '{"name":"oom","image":"bb","memory_mib":32,"command":["/bin/sh","-c","cat /sys/fs/cgroup/memory.max; exec dd if=/dev/zero of=/dev/null bs=64M count=1"]}'
wait_state oom stopped
[ "$(inst oom exit_code)" = 137 ] || fail "the 64 MiB allocation in 32 MiB ended with $(inst oom exit_code), not 137 (SIGKILL)"
wait_console oom 33554432
for _ in $(seq 1 50); do console | grep -q 'Memory cgroup out of memory: Killed process [0-9]* (dd)' && break; sleep 0.1; done
console | grep -q 'Memory cgroup out of memory: Killed process [0-9]* (dd)' ||
  fail "the host's kernel did not report the memory cgroup's OOM kill of dd"
log "oom: memory.max 33554432, exit code 137: $(console | grep -o 'Memory cgroup out of memory: Killed process [0-9]* (dd)')"

# cpus 1: the quota in cpu.max (period 100 ms). What it writes on its root volume is checked after
# the power cycle.
# shellcheck disable=SC2016 # $(...) for the container's shell
act POST /v1/instances '{"name":"cpu1","image":"bb","cpus":1,"memory_mib":64,"command":["/bin/sh","-c","echo \"kept: $(cat /kept 2>/dev/null)\"; echo \"cpu.max: $(cat /sys/fs/cgroup/cpu.max)\"; echo here > /kept; sync; echo written; sleep 3600"]}'
wait_console cpu1 written
api GET /v1/instances/cpu1/console
grep -q '^cpu.max: 100000 100000$' "$BODY" || fail "cpu1's cpu.max is not '100000 100000': $(cat "$BODY")"
grep -q '^kept: $' "$BODY" || fail "cpu1's new root volume already had /kept: $(cat "$BODY")"
log "cpu1: $(grep '^cpu.max' "$BODY")"
expect 200 GET /v1/instances
before=$(jq -c '[.instances[] | {name, image, cpus, memory_mib, root_volume}] | sort_by(.name)' "$BODY")

# --- power off, power on ----------------------------------------------------------------------------
t0=$(now_ms)
qmp '{"execute":"system_powerdown"}' | grep -q '"return": {}' || fail "QMP refused system_powerdown: $(cat "$T/qmp.out")"
for _ in $(seq 1 300); do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$QEMU_PID" 2>/dev/null && fail "the host did not power off within 30 s of the power button"
wait "$QEMU_PID" || true
QEMU_PID=
off_ms=$(($(now_ms) - t0))
console | grep -q 'zero-host: stopping the host (poweroff) at' || fail "the host did not stop through its init"
console | grep -q 'zero-host: state volume unmounted at' || fail "the host did not unmount its state volume"
e2fsck -fn "$T/state.img" >"$T/fsck.log" 2>&1 || fail "the state volume is not clean after the power off: $(tail -n 5 "$T/fsck.log")"
log "power button to off: $off_ms ms; the state volume is clean. The host's stop:"
console | grep -E '^zero-host: (stopping|zerod stopped|instances stopped|SIGKILL|state volume (unmounted|remounted))' | sed 's/^/#   /'

log "booting the host again (the state volume as SCSI: the serial finds it, whatever the personality)"
boot scsi
second_ms=$READY_MS
console | grep -q 'is blank: formatting' && fail "the second boot formatted the state volume again"
console | grep -q "zero-host: state volume /dev/sd[a-z] (serial $STATE_SERIAL) on /var/lib/zero" ||
  fail "the host did not find its state volume as a SCSI disk"
for d in decoy-n decoy-s; do
  cmp -s -n $((1024 * 1024)) "$T/$d.img" /dev/zero || fail "the host wrote to $d, a disk that is not its state volume"
done
expect 200 GET /v1/instances
after=$(jq -c '[.instances[] | {name, image, cpus, memory_mib, root_volume}] | sort_by(.name)' "$BODY")
[ "$after" = "$before" ] || fail "the instances changed over the power cycle: $before -> $after"
{ [ "$(inst oom state)" = stopped ] && [ "$(inst oom exit_code)" = 137 ]; } || fail "oom after the power cycle: $(cat "$BODY")"
expect 200 GET /v1/images/bb
# cpu1 was running when the power went: zerod finds its supervisor and its export gone and starts
# it again by itself (a restart operation, as after the card's daemon died: it_card_crash), once;
# it finds what it wrote on its root volume, which lives on the state volume.
wait_console cpu1 'kept: here' 30
wait_state cpu1 running
sleep 1
[ "$(inst cpu1 state)" = running ] || fail "cpu1 is $(inst cpu1 state) (exit code $(inst cpu1 exit_code)) after its restart"
log "after the power cycle: instances, image and cpu1's root volume are there"
log "host boot to zerod ready: $first_ms ms (first boot), $second_ms ms (second boot)"

#!/usr/bin/env bash
# Crash at every step: for each fault point of create, delete and switch (`zerod
# --list-fault-points`, so a new step is covered without editing this test), zerod is told to die
# there, is started again, and must finish the operation it died in. Then the instance runs in
# exactly one mode, its volume is exported once and its NIC attached once, and nothing of the
# other mode is left (process, export, loop device, mount, tap or veth).
. "$(dirname "$0")/lib.sh"

points=$("$ZEROD" --list-fault-points) || fail "zerod has no fault points: build with -DZERO_FAULT_INJECTION=ON"
for k in create delete switch; do
  grep -q "^$k\.[a-z_]*$" <<<"$points" || fail "no fault point of $k in: $points"
done

start_zerod_with_vm_image
expect 201 POST /v1/networks '{"name":"net1","subnet":"10.69.0.0/24"}'
# shellcheck disable=SC2016 # expanded in the instance
cmd='trap "exit 0" TERM; echo "UP $(cat /sys/class/net/eth0/address)"; sleep 1000 & wait'
spec() { # spec NAME MODE
  echo "{\"name\":\"$1\",\"mode\":\"$2\",\"image\":\"bb\",\"memory_mib\":256,\"nics\":[{\"network\":\"net1\"}],\"command\":[\"/bin/sh\",\"-c\",$(jq -Rn --arg c "$cmd" '$c')]}"
}

ulimit -c 0 # no core files from die_at's abort()s

# only_mode NAME MODE: NAME runs as MODE, once, with one export and one NIC link of that mode.
only_mode() {
  local n=$1 mode=$2 pid qemus ctrs loops taps veths q
  expect 200 "GET" "/v1/instances/$n"
  [ "$(jbody .mode)" = "$mode" ] && [ "$(jbody .state)" = running ] || fail "$n is not a running $mode: $(cat "$BODY")"
  pid=$(jbody .pid)
  alive "$pid" || fail "$n's pid $pid is not alive"
  qemus=0 # QEMU itself, not its shim (whose command line holds QEMU's); this test's only (its
  # run directory is on QEMU's command line): another tree's test may run a VM of the same name
  for q in $(pgrep -f "qemu-system.*guest=$n,.*$T/"); do
    case $(cat "/proc/$q/comm" 2>/dev/null) in qemu-system*) qemus=$((qemus + 1)) ;; esac
  done
  ctrs=$(crun --root "$T/run/crun" list -q 2>/dev/null | grep -c . || true)
  loops=$(leftover_loops | grep -c . || true)
  taps=$(ip -n "$NETNS" -o link show | grep -c ': zt-' || true)
  veths=$(ip -n "$NETNS" -o link show | grep -c ': zv-' || true)
  if [ "$mode" = vm ]; then
    [ "$qemus/$ctrs/$loops/$taps/$veths" = 1/0/0/1/0 ] || fail "$n as a vm: qemu/containers/loops/taps/veths = $qemus/$ctrs/$loops/$taps/$veths"
    [ "$(jbody '.volumes[0].export.kind')" = vhost-user-blk ] || fail "$n's root export: $(cat "$BODY")"
  else
    [ "$qemus/$ctrs/$loops/$taps/$veths" = 0/1/1/0/1 ] || fail "$n as a container: qemu/containers/loops/taps/veths = $qemus/$ctrs/$loops/$taps/$veths"
    [ "$(jbody '.volumes[0].export.kind')" = host-block ] || fail "$n's root export: $(cat "$BODY")"
  fi
}

# nothing_left: no instance process, export, loop device, mount, tap or veth
nothing_left() {
  expect 200 GET /v1/instances
  [ "$(jbody '.instances | length')" = 0 ] || fail "instances left: $(cat "$BODY")"
  expect 200 GET /v1/volumes
  [ "$(jbody '.volumes | length')" = 0 ] || fail "volumes left: $(cat "$BODY")"
  [ -z "$(leftover_processes | grep -v "^$ZEROD_PID\$")" ] || fail "processes left: $(leftover_processes)"
  [ -z "$(leftover_loops)" ] || fail "loop devices left: $(leftover_loops)"
  [ -z "$(leftover_links)" ] || fail "links left: $(leftover_links)"
  ! grep -F "$T/run/instances" /proc/self/mountinfo >/dev/null || fail "mounts left: $(grep -F "$T" /proc/self/mountinfo)"
}

n=0
for p in $(grep '^create\.' <<<"$points"); do
  die_at "$p" api POST /v1/instances "$(spec fc container)"
  only_mode fc container
  act DELETE /v1/instances/fc
  nothing_left
  n=$((n + 1))
done
log "create: $n fault points, each finished by the next zerod, nothing left"

n=0
for p in $(grep '^delete\.' <<<"$points"); do
  act POST /v1/instances "$(spec fd container)"
  die_at "$p" api DELETE /v1/instances/fd
  expect 404 GET /v1/instances/fd
  nothing_left
  n=$((n + 1))
done
log "delete: $n fault points, each finished by the next zerod, nothing left"

# switch: each point once, alternating directions (each switch flips the mode)
act POST /v1/instances "$(spec fs container)"
mode=container
n=0
for p in $(grep '^switch\.' <<<"$points"); do
  to=$([ "$mode" = container ] && echo vm || echo container)
  die_at "$p" api POST /v1/instances/fs/switch "{\"mode\":\"$to\"}"
  only_mode fs "$to"
  mode=$to
  n=$((n + 1))
done
wait_console fs "UP " 30
act DELETE /v1/instances/fs
nothing_left
log "switch: $n fault points in both directions, each finished by the next zerod in exactly one mode"

expect 204 DELETE /v1/networks/net1
stop_zerod
[ -z "$(leftover_processes)" ] || fail "processes left: $(leftover_processes)"
[ -z "$(leftover_mounts)" ] || fail "mounts left: $(leftover_mounts)"
log "nothing is left"

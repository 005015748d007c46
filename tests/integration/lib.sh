# Helpers for integration tests that run the real zerod, zero-shim and crun. Sourced.
# Each test gets its own directory under /tmp, its own unix socket and crun root, so tests can run
# in parallel; everything a test made is removed on exit, even on failure.
set -euo pipefail

: "${ZEROD:?ZEROD must point at the zerod binary (set by ctest)}"
: "${ZERO_SHIM:?ZERO_SHIM must point at zero-shim (set by ctest)}"
: "${ZERO_PLUGIN_DIR:?ZERO_PLUGIN_DIR must point at the built plugins (set by ctest)}"
: "${ZERO_SOURCE_DIR:?ZERO_SOURCE_DIR must point at the source tree (set by ctest)}"

T=$(mktemp -d /tmp/zero-it.XXXXXX)
SOCK=$T/run/zerod.sock
ZEROD_PID=
BODY=$T/body

log() { echo "# $*"; }

fail() {
  echo "FAIL: $*" >&2
  if [ -f "$T/zerod.log" ]; then
    echo "--- last lines of zerod.log" >&2
    tail -n 40 "$T/zerod.log" >&2
  fi
  exit 1
}

# zerod runs in a network namespace of the test's own (start_zerod makes it; ZEROD_NETNS runs a
# command there): its card makes bridges and veths, and at start removes every zb-/zv-/zt- link
# the store does not know, so it must never see the host's interfaces or another zerod's. A named
# namespace (ip netns) outlives a killed zerod, as the host's would. in_ns runs a command there.
NETNS=
use_netns() {
  NETNS=zit-$(basename "$T" | tr -dc 'a-zA-Z0-9' | tail -c 10)
  ip netns add "$NETNS" || fail "cannot create network namespace $NETNS"
  ip -n "$NETNS" link set lo up
}
in_ns() { nsenter --net="/run/netns/$NETNS" "$@"; }

# zerod's configuration from lib.sh, $T/lib.conf (a test's own --config comes after it and wins),
# written at each start: host-path imports
# (POST /v1/images {"source": PATH}) only from the test's own directory, as an operator would
# list an images directory in [images] import_dirs; the default (empty) takes no host path at all.
# IMPORT_DIRS overrides the directory list (IMPORT_DIRS= turns host paths off), ZEROD_CONF_EXTRA
# is appended (INI lines).
write_zerod_conf() {
  printf '[images]\nimport_dirs = %s\n%s\n' "${IMPORT_DIRS-$T}" "${ZEROD_CONF_EXTRA:-}" >"$T/lib.conf"
}

# ZEROD_WRAPPER="valgrind --leak-check=full --error-exitcode=99" runs zerod under a checker.
start_zerod() {
  [ -n "$NETNS" ] || use_netns
  write_zerod_conf
  nsenter --net="/run/netns/$NETNS" ${ZEROD_WRAPPER:-} "$ZEROD" --config "$T/lib.conf" --state-dir "$T/state" --run-dir "$T/run" --listen "unix:$SOCK" --plugin-dir "$ZERO_PLUGIN_DIR" \
    --shim "$ZERO_SHIM" --log-level debug "$@" >>"$T/zerod.log" 2>&1 &
  ZEROD_PID=$!
  for _ in $(seq 1 ${ZEROD_START_TRIES:-200}); do
    if curl -sf --unix-socket "$SOCK" http://zero/v1/node >/dev/null 2>&1; then return 0; fi
    kill -0 "$ZEROD_PID" 2>/dev/null || fail "zerod exited during start"
    sleep 0.05
  done
  fail "zerod did not answer within 10 s"
}

stop_zerod() { # graceful: SIGTERM, as systemd does; zerod must exit 0 (sanitizers and
  # valgrind --error-exitcode report leaks and errors through the exit code)
  [ -n "$ZEROD_PID" ] || return 0
  local rc=0
  kill -TERM "$ZEROD_PID" 2>/dev/null || true
  wait "$ZEROD_PID" 2>/dev/null || rc=$?
  ZEROD_PID=
  [ "$rc" = 0 ] || fail "zerod exited with status $rc on SIGTERM"
}

crash_zerod() {
  kill -9 "$ZEROD_PID"
  wait "$ZEROD_PID" 2>/dev/null || true
  ZEROD_PID=
}

# Where api and upload send a request for PATH (curl arguments in TARGET): zerod's unix socket,
# or, once a test sets API_URL (https://HOST:PORT), that TCP API with API_TOKEN and API_CACERT
# (the lab's host VM, tests/lab/). Not ZERO_URL: a developer's shell may export that for zeroctl.
API_URL= API_TOKEN= API_CACERT=
api_target() {
  if [ -n "$API_URL" ]; then
    TARGET=(--cacert "$API_CACERT" -H "Authorization: Bearer $API_TOKEN" "$API_URL$1")
  else
    TARGET=(--unix-socket "$SOCK" "http://zero$1")
  fi
}

# api METHOD PATH [JSON]: sets STATUS, leaves the body in $BODY.
api() {
  api_target "$2"
  local args=(-sS -o "$BODY" -w '%{http_code}' -X "$1" "${TARGET[@]}")
  if [ $# -ge 3 ]; then args+=(-H 'Content-Type: application/json' --data-binary "$3"); fi
  STATUS=$(curl "${args[@]}") || fail "curl $1 $2 failed"
}

expect() { # expect STATUS METHOD PATH [JSON]
  local want=$1; shift
  api "$@"
  [ "$STATUS" = "$want" ] || fail "$1 $2: expected HTTP $want, got $STATUS: $(cat "$BODY")"
}

jbody() { jq -r "$1" "$BODY"; }

# wait_op OPERATION_ID [succeeded|failed]: long-polls until the operation ends.
wait_op() {
  local id=$1 want=${2:-succeeded} status
  for _ in $(seq 1 12); do
    expect 200 GET "/v1/operations/$id?wait=10"
    status=$(jbody .status)
    [ "$status" = running ] || break
  done
  [ "$status" = "$want" ] || fail "operation $id: expected $want, got $status: $(cat "$BODY")"
}

# act METHOD PATH [JSON]: an asynchronous call: 202, then wait for its operation to succeed.
act() {
  expect 202 "$@"
  wait_op "$(jbody .id)"
}

make_image() { # make_image NAME: a busybox rootfs in $T, imported from its host path
  "$ZERO_SOURCE_DIR/deploy/make-busybox-rootfs" "$T/rootfs-$1" >/dev/null
  act POST /v1/images "{\"name\":\"$1\",\"source\":\"$T/rootfs-$1\"}"
}

# upload METHOD PATH FILE CONTENT_TYPE [CURL_ARGS...]: a streamed body (an image archive); sets
# STATUS, leaves the answer in $BODY.
upload() {
  local method=$1 path=$2 file=$3 ctype=$4
  shift 4
  # -T streams the file (--data-binary @FILE would read it into memory first)
  api_target "$path"
  STATUS=$(curl -sS -o "$BODY" -w '%{http_code}' -X "$method" -H "Content-Type: $ctype" \
    -T "$file" "$@" "${TARGET[@]}") || fail "curl $method $path failed"
}

# die_at POINT COMMAND...: a zerod armed at fault point POINT (agent/fault.h) takes the request
# COMMAND makes (api or upload, which must answer 202 with an operation) and dies there, by
# _exit(86) and by abort() in turn; the next zerod (unarmed) finishes the operation. Sets OP.
# Tests that use it say `ulimit -c 0`: no core files from the abort()s.
DIED=0
die_at() {
  local point=$1 rc=0 action want
  shift
  DIED=$((DIED + 1))
  if [ $((DIED % 2)) = 0 ]; then action=abort want=134; else action=exit want=86; fi
  stop_zerod
  ZERO_FAULT_POINT=$point ZERO_FAULT_ACTION=$action start_zerod
  "$@"
  [ "$STATUS" = 202 ] || fail "$*: expected HTTP 202, got $STATUS: $(cat "$BODY")"
  OP=$(jbody .id)
  for _ in $(seq 1 600); do kill -0 "$ZEROD_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$ZEROD_PID" 2>/dev/null && fail "zerod did not reach fault point $point"
  wait "$ZEROD_PID" || rc=$?
  ZEROD_PID=
  [ "$rc" = "$want" ] || fail "zerod exited with $rc at $point, not $want (the fault point's $action)"
  grep -q "Fault point $point reached" "$T/zerod.log" || fail "zerod's log does not name fault point $point"
  start_zerod
  wait_op "$OP"
}

inst() { # inst NAME FIELD
  expect 200 GET "/v1/instances/$1"
  jbody ".$2"
}

# run_times NAME running|stopped: started_at and stopped_at are the last run's (issue 16): while it
# runs, a start and no stop; once stopped, a stop no earlier than the start. AFTER (an RFC 3339
# time, optional): the start is no earlier than it.
run_times() {
  expect 200 GET "/v1/instances/$1"
  local started stopped
  started=$(jbody .started_at) stopped=$(jbody .stopped_at)
  [ "$started" != null ] || fail "$1 has no started_at: $(cat "$BODY")"
  [ -z "${3:-}" ] || [[ ! "$started" < "$3" ]] || fail "$1 started at $started, before $3"
  if [ "$2" = running ]; then
    [ "$stopped" = null ] || fail "$1 runs (started $started) with a stopped_at of an earlier run: $stopped"
  else
    [ "$stopped" != null ] && [[ ! "$stopped" < "$started" ]] || fail "$1 stopped at '$stopped', started at $started"
  fi
}

wait_state() { # wait_state NAME STATE
  for _ in $(seq 1 100); do
    [ "$(inst "$1" state)" = "$2" ] && return 0
    sleep 0.1
  done
  fail "$1 did not reach state $2 (is $(inst "$1" state))"
}

wait_console() { # wait_console NAME TEXT [SECONDS (10)]
  for _ in $(seq 1 $((${3:-10} * 10))); do
    api GET "/v1/instances/$1/console"
    grep -q -- "$2" "$BODY" && return 0
    sleep 0.1
  done
  fail "console of $1 never showed '$2': $(tail -c 300 "$BODY")"
}

# start_zerod_with_vm_image: builds the unified image (deploy/images/build-busybox-image; the
# kernel package is cached in <build>/image-cache), starts zerod and imports the image as "bb".
start_zerod_with_vm_image() {
  : "${ZERO_BUILD_DIR:?ZERO_BUILD_DIR must point at the build tree (set by ctest)}"
  ZERO_IMAGE_CACHE=${ZERO_IMAGE_CACHE:-$ZERO_BUILD_DIR/image-cache} \
    "$ZERO_SOURCE_DIR/deploy/images/build-busybox-image" "$T/img" >"$T/image.log" 2>&1 ||
    fail "image build failed: $(tail -5 "$T/image.log")"
  start_zerod "$@"
  act POST /v1/images "{\"name\":\"bb\",\"source\":\"$T/img/rootfs\",\"kernel\":\"$T/img/vmlinuz\",\"initrd\":\"$T/img/initrd.img\"}"
}

alive() { [ -n "$1" ] && [ "$1" != null ] && [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# What a test leaves behind: processes started from its directory, mounts under it, loop devices
# over its files, the card's links in its namespace.
# The card's daemon (qemu-storage-daemon and its shim) outlives zerod by design: not a leftover.
# zerod's sync child (zerod-sync, agent/durable.c: zerod's command line) is zerod's while zerod runs.
leftover_processes() {
  local p
  for p in $(pgrep -f "$T"); do
    if [ -n "${ZEROD_PID:-}" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = zerod-sync ] &&
      [ "$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)" = "$ZEROD_PID" ]; then continue; fi
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$T/run/card/qsd" || echo "$p"
  done
}
# While zerod runs, the card's volume pool (an XFS image on a loop device, mounted under the
# state directory) is its, not a leftover; once zerod has stopped, it is.
zerod_alive() { [ -n "${ZEROD_PID:-}" ] && kill -0 "$ZEROD_PID" 2>/dev/null; }
leftover_mounts() {
  if zerod_alive; then grep -F "$T" /proc/self/mountinfo | grep -vF " $T/state/card/pool " || true
  else grep -F "$T" /proc/self/mountinfo || true; fi
}
leftover_loops() {
  if zerod_alive; then losetup -a 2>/dev/null | grep -F "$T" | grep -vF "($T/state/card/pool.img)" || true; return; fi
  # The pool's loop device (autoclear) goes with the last copy of its mount, which zerod detached
  # at its stop: a mount namespace made elsewhere meanwhile (another test's, a command run without
  # the mount table) holds a copy until it ends. 5 s at most.
  for _ in $(seq 1 50); do losetup -a 2>/dev/null | grep -qF "($T/state/card/pool.img)" || break; sleep 0.1; done
  local line dev
  losetup -a 2>/dev/null | grep -F "$T" | while IFS= read -r line; do
    dev=${line%%:*}
    if [[ $line == *"($T/state/card/pool.img)" ]] && pool_loop_held_elsewhere "$dev"; then
      log "the pool's $dev is held only by other mount namespaces' copies (autoclear frees it when they end)" >&2
      continue
    fi
    echo "$line"
  done
}
# pool_loop_held_elsewhere DEV: DEV will go by itself (autoclear) and nothing of this test holds
# it: it is mounted in no namespace of a process of the test, nor in this shell's, but in some
# other process's (a mount namespace another test made while the pool was mounted).
pool_loop_held_elsewhere() {
  local dev=$1 f pid holders=0
  [ "$(cat "/sys/block/${dev#/dev/}/loop/autoclear" 2>/dev/null)" = 1 ] || return 1
  grep -qF " $dev " /proc/self/mountinfo && return 1
  for f in /proc/[0-9]*/mountinfo; do
    grep -qF " $dev " "$f" 2>/dev/null || continue
    pid=${f#/proc/}; pid=${pid%/mountinfo}
    [[ $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) == *"$T"* ]] && return 1
    holders=$((holders + 1))
  done
  [ "$holders" -gt 0 ]
}
leftover_links() { [ -z "$NETNS" ] || ip -n "$NETNS" -o link show | grep -E ': z[vpt]-' || true; }
# assert_nothing_left: once zerod is stopped, nothing of the test runs, is mounted, is a loop
# device or is a card link.
assert_nothing_left() {
  [ -z "$(leftover_processes)" ] || fail "processes left: $(leftover_processes)"
  [ -z "$(leftover_loops)" ] || fail "loop devices left: $(leftover_loops)"
  [ -z "$(leftover_mounts)" ] || fail "mounts left: $(leftover_mounts)"
  [ -z "$(leftover_links)" ] || fail "links left: $(leftover_links)"
  log "nothing is left"
}
qsd_pid() { cat "$T/run/card/qsd/pid" 2>/dev/null || true; }

cleanup() {
  local rc=$?
  # KEEP=1 keeps the test directory (and whatever still runs) for a post-mortem.
  if [ -n "${KEEP:-}" ]; then echo "kept $T" >&2; exit $rc; fi
  set +e
  # A test may leave the card's daemon stopped (SIGSTOP): its FUSE exports would then hang every
  # losetup below, and every other agent's on the machine. Let it run before anything else.
  pkill -CONT -f "$T" 2>/dev/null
  [ -n "$ZEROD_PID" ] && kill -9 "$ZEROD_PID" 2>/dev/null
  # kill the test's containers, then its shims, then unmount
  if [ -d "$T/run/crun" ]; then
    for id in $(crun --root "$T/run/crun" list -q 2>/dev/null); do
      crun --root "$T/run/crun" --cgroup-manager=disabled delete -f "$id" >/dev/null 2>&1
    done
  fi
  # Loop devices before mounts: once the card's FUSE mount is gone, a loop device over it no
  # longer names its backing file. A mounted loop device is freed when its mount goes.
  losetup -a 2>/dev/null | grep -F "$T" | cut -d: -f1 | while read -r d; do losetup -d "$d"; done
  pkill -9 -f "$T" 2>/dev/null
  grep -F "$T" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m"; done
  [ -n "$NETNS" ] && ip netns del "$NETNS" 2>/dev/null
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT

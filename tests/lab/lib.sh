# shellcheck shell=bash disable=SC2034,SC2094
# (SC2034: UP_MS, READY_MS, DOWN_MS and API_* are the sourcing test's; SC2094: maint reads the
# answer's file while socat writes it, on purpose.)
# Helpers for the lab's tests (tests/lab/*.sh but host_image.sh): one lab per test, booted by
# `deploy/lab up` in $T/lab, taken down whatever happens. Sourced after tests/integration/lib.sh.
#   lab_up            deploy/lab up, the printed ZERO_URL/ZERO_TOKEN/ZERO_CACERT exported and used
#                     by lib.sh's api/expect and zeroctl; UP_MS its time
#   op M PATH [JSON]  the card's operator API (its socket and token): the body on stdout
#   presented ID      whether the card presents the volume or NIC
#   plugged PFX ID    whether the host's QEMU has the device (disk-/nic- and the id's first 16)
#   maint VERB...     a request on the host's maintenance port (ZERO_LAB_MAINTENANCE=true), its
#                     answer on stdout
#   host_console N    the last N bytes of the host's serial console
#   lab_down_clean    deploy/lab down, then nothing of the lab may be left
# fail() shows the host's console and the card's log.
: "${ZERO_BUILD_DIR:?ZERO_BUILD_DIR must point at the build tree (set by ctest)}"
for tool in qemu-system-x86_64 qemu-storage-daemon socat curl jq tar busybox unshare nsenter; do
  command -v "$tool" >/dev/null || fail "$tool is missing (Debian packages: qemu-system-x86 qemu-utils socat curl jq tar busybox-static util-linux)"
done
export ZERO_IMAGE_CACHE=${ZERO_IMAGE_CACHE:-$ZERO_BUILD_DIR/image-cache}
LAB=$T/lab
ZEROCTL=$ZERO_BUILD_DIR/cli/zeroctl
now_ms() { echo $(($(date +%s%N) / 1000000)); }
T_START=$(now_ms)
log() { echo "# [$((($(now_ms) - T_START) / 1000)) s] $*"; }
zeroctl() { "$ZEROCTL" "$@"; }

fail() {
  echo "FAIL: $*" >&2
  if [ -S "$LAB/card.sock" ]; then
    echo "--- the host's console (last lines)" >&2
    op GET "/v1/host/console?bytes=3000" 2>/dev/null | tr -d '\r' | tail -n 30 >&2
  fi
  [ -f "$LAB/card.log" ] && { echo "--- card.log (last lines)" >&2; grep -v QMP "$LAB/card.log" | tail -n 20 >&2; }
  exit 1
}

LAB_CLEANUP_EXTRA=: # a test's own cleanup, run first
cleanup() {
  local rc=$?
  if [ -n "${KEEP:-}" ]; then echo "kept $T" >&2; exit $rc; fi
  set +e
  $LAB_CLEANUP_EXTRA
  [ -d "$LAB" ] && ZERO_BUILD_DIR=$ZERO_BUILD_DIR "$ZERO_SOURCE_DIR/deploy/lab" down "$LAB" >/dev/null 2>&1
  pkill -9 -f "$T" 2>/dev/null
  wait 2>/dev/null
  grep -F "$T" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT

op() {
  curl -sS -m 120 --unix-socket "$LAB/card.sock" -H "Authorization: Bearer $(cat "$LAB/state/operator.token")" \
    ${3:+-H "Content-Type: application/json" --data-binary "$3"} -X "$1" "http://card$2"
}
presented() { op GET /v1/presentations | jq -e --arg id "$1" '.presentations[] | select(.id == $id and .state == "presented")' >/dev/null; }
plugged() { op GET /v1/host/devices | jq -e --arg d "$1-${2:0:16}" '.devices | index($d)' >/dev/null; }
host_console() { op GET "/v1/host/console?bytes=$1" | tr -d '\r'; }
# host_console_wait REGEX TRIES: the host's console (its last 20,000 bytes) read every 0.1 s until
# a line matches REGEX (grep's), TRIES times at most; 1 if none did. The text is read whole
# before grep sees it (under pipefail a grep -q that quits early would fail the pipe).
host_console_wait() {
  local text
  for _ in $(seq 1 "$2"); do
    text=$(host_console 20000)
    grep -q -- "$1" <<<"$text" && return 0
    sleep 0.1
  done
  return 1
}
maint() {
  local out=$T/maint.out
  [ -S "$LAB/run/host/maint.sock" ] || fail "the host has no maintenance port (ZERO_LAB_MAINTENANCE=true)"
  : >"$out"
  # The request's side stays open until the answer came (15 s at most: host-init looks at its
  # port once a second while nobody is connected): a half-close would be QEMU's end of the
  # connection, and the answer would be lost with it.
  {
    echo "$*"
    for _ in $(seq 1 150); do
      [ -s "$out" ] && break
      sleep 0.1
    done
  } | socat - "UNIX-CONNECT:$LAB/run/host/maint.sock" >"$out"
  head -n 1 "$out"
}

lab_up() {
  local t0
  log "deploy/lab up $LAB"
  t0=$(now_ms)
  ZERO_BUILD_DIR=$ZERO_BUILD_DIR "$ZERO_SOURCE_DIR/deploy/lab" up "$LAB" >"$T/env" 2>"$T/up.log" ||
    fail "deploy/lab up failed: $(tail -n 20 "$T/up.log")"
  UP_MS=$(($(now_ms) - t0))
  sed 's/^/#   /' "$T/up.log"
  for k in ZERO_URL ZERO_TOKEN ZERO_CACERT; do grep -q "^$k=." "$T/env" || fail "deploy/lab up printed no $k: $(cat "$T/env")"; done
  # As a developer's shell takes them: export $(deploy/lab up DIR).
  # shellcheck disable=SC2046 # KEY=VALUE words on purpose
  export $(cat "$T/env")
  API_URL=$ZERO_URL API_TOKEN=$ZERO_TOKEN API_CACERT=$ZERO_CACERT
  case $ZERO_URL in https://127.0.0.1:*) ;; *) fail "ZERO_URL is not the card's address on this machine's loopback: $ZERO_URL" ;; esac
}

# zerod_ready_after T0_MS [SECONDS]: waits until zerod answers over the card's forward; READY_MS
# is the time from T0_MS. While a tenant holds the host the card answers there itself (its
# /v1/node says "answered_by": "card", its other answers are 409 or 503): not zerod's.
zerod_ready_after() {
  local code
  READY_MS=
  for _ in $(seq 1 $((${2:-150} * 10))); do
    code=$(curl -s -m 2 -o "$T/ready.json" -w '%{http_code}' --cacert "$ZERO_CACERT" -H "Authorization: Bearer $ZERO_TOKEN" "$ZERO_URL/v1/node") || code=000
    if [ "$code" = 200 ] && ! jq -e '.answered_by == "card"' "$T/ready.json" >/dev/null 2>&1; then
      READY_MS=$(($(now_ms) - $1))
      return 0
    fi
    sleep 0.1
  done
  fail "zerod did not answer within ${2:-150} s"
}

lab_down_clean() {
  local t0 left
  t0=$(now_ms)
  ZERO_BUILD_DIR=$ZERO_BUILD_DIR "$ZERO_SOURCE_DIR/deploy/lab" down "$LAB" >"$T/down.log" 2>&1 ||
    fail "deploy/lab down failed: $(cat "$T/down.log")"
  DOWN_MS=$(($(now_ms) - t0))
  left=$(grep -lsFf <(printf '%s\n' "$LAB/") /proc/[0-9]*/cmdline || true)
  [ -z "$left" ] || fail "deploy/lab down left processes: $left"
  ! grep -qF "$LAB" /proc/self/mountinfo || fail "deploy/lab down left mounts: $(grep -F "$LAB" /proc/self/mountinfo)"
  ! losetup -a 2>/dev/null | grep -qF "$LAB" || fail "deploy/lab down left loop devices: $(losetup -a 2>/dev/null | grep -F "$LAB")"
  [ ! -e "$LAB/netns" ] || fail "deploy/lab down left the namespace's file"
}

#!/usr/bin/env bash
# An idle zerod (issue 12): nothing wakes it, and it gives back what its work needed.
#  - After its start, after requests (their connections closed) and after an operation and a
#    running container: for a few seconds with nothing asked, zerod and its sync child are not
#    scheduled once (schedstat's timeslices), and no timerfd of theirs is armed. A second
#    measure of the same seconds with one client's connection left open shows the test can see a
#    wakeup: that connection's idle timeout is armed.
#  - Its trim (agent/trim.h) ran after the start and after the last operation ended, and unmapped
#    file pages ("Trimmed: ..." in the debug log); zerod serves on after it (the pages come back).
#  - A live migration's libcurl is not loaded at the start (agent/curl_load.h), nor the lab card
#    driver's, which the plugin loader tells apart by its file (common/elf_symbols.h).
. "$(dirname "$0")/lib.sh"

QUIET_S=${QUIET_S:-3}
slices() { # the timeslices of every thread of PID
  local sum=0 f
  for f in /proc/"$1"/task/*/schedstat; do sum=$((sum + $(cut -d' ' -f3 "$f"))); done
  echo "$sum"
}
armed() { # the armed timerfds of PID
  local n=0 fd
  for fd in /proc/"$1"/fd/*; do
    [ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:[timerfd]" ] || continue
    grep -q '^it_value: (0, 0)' "/proc/$1/fdinfo/${fd##*/}" || n=$((n + 1))
  done
  echo "$n"
}
sync_child() { # zerod's sync child (durable.c)
  local p
  for p in $(pgrep -P "$ZEROD_PID"); do
    [ "$(cat "/proc/$p/comm")" = zerod-sync ] && { echo "$p"; return; }
  done
}
quiet() { # quiet WHAT: QUIET_S seconds with nothing asked: no wakeup, no timer
  local child z0 c0 z1 c1
  child=$(sync_child)
  [ -n "$child" ] || fail "$1: no sync child of zerod $ZEROD_PID"
  sleep 2 # the replies sent and the trim done (at most one a second: trim.h)
  z0=$(slices "$ZEROD_PID") c0=$(slices "$child")
  sleep "$QUIET_S"
  z1=$(slices "$ZEROD_PID") c1=$(slices "$child")
  [ "$z1" = "$z0" ] || fail "$1: zerod woke $((z1 - z0)) times in $QUIET_S s with nothing asked"
  [ "$c1" = "$c0" ] || fail "$1: its sync child woke $((c1 - c0)) times in $QUIET_S s"
  [ "$(armed "$ZEROD_PID")" = 0 ] || fail "$1: zerod has $(armed "$ZEROD_PID") timers armed: $(grep it_value /proc/"$ZEROD_PID"/fdinfo/* 2>/dev/null)"
  log "$1: no wakeup of zerod or its sync child in $QUIET_S s, no timer armed"
}
trims() { grep -c 'Trimmed: .* file mappings -[1-9][0-9]* KiB' "$T/zerod.log" || true; }
mapped() { grep -cE "/libcurl\.so|/libcrypto\.so|/lab\.so" "/proc/$ZEROD_PID/maps" || true; }

start_zerod
quiet "after the start"
[ "$(trims)" -ge 1 ] || fail "no trim after the start: $(grep Trimmed "$T/zerod.log")"
[ "$(mapped)" = 0 ] || fail "libcurl, OpenSSL or lab.so mapped at the start: $(grep -E 'curl|crypto|lab\.so' /proc/"$ZEROD_PID"/maps)"
grep -q "Skipping .*/lab.so: a card driver" "$T/zerod.log" || fail "lab.so not skipped as a card driver"
log "trimmed after the start ($(grep -m1 Trimmed "$T/zerod.log" | sed 's/.*Trimmed: //')); no libcurl, OpenSSL or lab.so mapped"

for p in /v1/node /v1/instances /v1/images /metrics /v1/events; do expect 200 GET "$p"; done
quiet "after five requests"

make_image busybox
act POST /v1/instances '{"name":"c1","image":"busybox","command":["/bin/sleep","3600"]}'
n=$(trims)
[ "$n" -ge 2 ] || fail "no trim after the operations ended: $(grep Trimmed "$T/zerod.log")"
quiet "with c1 running"
expect 200 GET /v1/instances/c1
[ "$(jbody .state)" = running ] || fail "c1 is $(jbody .state) after the trims"

# The test can see a wakeup: a client's connection left open is something pending (its idle
# timeout is armed), so zerod is no longer "quiet".
python3 - "$SOCK" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"GET /v1/node HTTP/1.1\r\nHost: zero\r\n\r\n"); s.recv(65536)
time.sleep(30)
PY
holder=$!
sleep 1
[ "$(armed "$ZEROD_PID")" -ge 1 ] || { kill "$holder"; fail "an open connection armed no timer: the check sees nothing"; }
kill "$holder"; wait "$holder" 2>/dev/null || true
log "an open client connection arms its idle timeout (the check can fail)"
quiet "after that client left"

act DELETE "/v1/instances/c1?force=true"
stop_zerod

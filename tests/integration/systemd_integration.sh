#!/usr/bin/env bash
# zerod as systemd runs it: sd_notify READY/STATUS/WATCHDOG/STOPPING on our own NOTIFY_SOCKET,
# socket activation through systemd-socket-activate, SIGTERM leaving instances running.
. "$(dirname "$0")/lib.sh"

# --- sd_notify and the watchdog
socat -u UNIX-RECV:"$T/notify.sock" OPEN:"$T/notify.out",creat,append &
SOCAT_PID=$!
for _ in $(seq 1 50); do [ -S "$T/notify.sock" ] && break; sleep 0.05; done
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=200000 start_zerod
for _ in $(seq 1 50); do grep -q 'WATCHDOG=1' "$T/notify.out" 2>/dev/null && break; sleep 0.05; done
grep -q '^READY=1' "$T/notify.out" || fail "no READY=1 on NOTIFY_SOCKET: $(cat "$T/notify.out" 2>&1)"
grep -q '^STATUS=' "$T/notify.out" || fail "no STATUS= on NOTIFY_SOCKET"
grep -q 'WATCHDOG=1' "$T/notify.out" || fail "no WATCHDOG=1 within 2.5 s with WatchdogSec=0.2s"
log "READY, STATUS and WATCHDOG arrived"

make_image busybox
act POST /v1/instances '{"name":"keep","image":"busybox","memory_mib":16,"command":["/bin/sleep","600"]}'
pid=$(inst keep pid)
kill -TERM "$ZEROD_PID"
wait "$ZEROD_PID" || fail "zerod exited non-zero on SIGTERM"
ZEROD_PID=
grep -q 'STOPPING=1' "$T/notify.out" || fail "no STOPPING=1 on SIGTERM"
alive "$pid" || fail "the instance died with zerod"
log "SIGTERM: STOPPING=1, exit 0, instance $pid still runs"
kill "$SOCAT_PID" 2>/dev/null || true

# --- socket activation: zerod serves on the socket it is handed
nsenter --net="/run/netns/$NETNS" systemd-socket-activate -l "$T/activated.sock" -- "$ZEROD" --state-dir "$T/state" --run-dir "$T/run" \
  --plugin-dir "$ZERO_PLUGIN_DIR" --shim "$ZERO_SHIM" >>"$T/zerod.log" 2>&1 &
ACT_PID=$!
for _ in $(seq 1 100); do [ -S "$T/activated.sock" ] && break; sleep 0.05; done
code=$(curl -s --max-time 10 --unix-socket "$T/activated.sock" -o "$BODY" -w '%{http_code}' http://zero/v1/instances/keep)
[ "$code" = 200 ] || fail "socket-activated zerod answered $code"
[ "$(jbody .state)" = running ] || fail "after the restart keep is $(jbody .state)"
[ -S "$SOCK" ] && fail "zerod bound its own unix socket although it was handed one"
log "socket-activated zerod found the running instance"
SOCK=$T/activated.sock
ZEROD_PID=$ACT_PID # systemd-socket-activate execs zerod in place
act DELETE "/v1/instances/keep?force=true"
stop_zerod
echo PASS

#!/usr/bin/env bash
# With 3 containers running, kill -9 zerod and start it again: all 3 still run, are listed and
# stoppable; a container that exited while zerod was down shows its exit code.
. "$(dirname "$0")/lib.sh"

start_zerod
make_image busybox
loop='trap "exit 3" TERM; while true; do sleep 0.1; done'
for n in c1 c2 c3; do
  act POST /v1/instances "$(jq -nc --arg n "$n" --arg c "$loop" '{name:$n,image:"busybox",memory_mib:32,command:["/bin/sh","-c",$c]}')"
done
declare -A pid
for n in c1 c2 c3; do
  [ "$(inst $n state)" = running ] || fail "$n is not running"
  pid[$n]=$(inst $n pid)
  alive "${pid[$n]}" || fail "$n's pid is not alive"
done
log "3 containers run: ${pid[*]}"

crash_zerod
log "zerod killed with SIGKILL"
for n in c1 c2 c3; do alive "${pid[$n]}" || fail "$n died with zerod"; done
kill -TERM "${pid[c3]}" # c3's TERM trap exits with 3 while zerod is away
for _ in $(seq 1 100); do alive "${pid[c3]}" || break; sleep 0.1; done # 10 s: slow under load
alive "${pid[c3]}" && fail "c3 did not exit"

start_zerod
expect 200 GET /v1/instances
[ "$(jbody '.instances | length')" = 3 ] || fail "expected 3 instances, got $(cat "$BODY")"
for n in c1 c2; do
  [ "$(inst $n state)" = running ] || fail "$n is $(inst $n state) after the restart"
  [ "$(inst $n pid)" = "${pid[$n]}" ] || fail "$n has pid $(inst $n pid), was ${pid[$n]}"
done
wait_state c3 stopped
[ "$(inst c3 exit_code)" = 3 ] || fail "c3 shows exit code $(inst c3 exit_code), expected 3"
log "after restart c1 and c2 run on, c3 shows exit code 3"

for n in c1 c2; do
  act POST /v1/instances/$n/stop '{"timeout_s":5}'
  [ "$(inst $n state)" = stopped ] || fail "$n did not stop"
  alive "${pid[$n]}" && fail "$n's process outlived its stop"
done
for n in c1 c2 c3; do act DELETE /v1/instances/$n; done

# An operation interrupted by kill -9 is resumed at its recorded step: a delete waiting for an
# instance that ignores SIGTERM (a shell as pid 1) finishes after the restart. Its grace period
# must outlast the steps up to the crash, or its kill comes first ("stubborn died with zerod":
# 2 s did not at a load of 20 under ASan); the resumed delete then waits it out once more.
act POST /v1/instances '{"name":"stubborn","image":"busybox","memory_mib":16,"command":["/bin/sh","-c","while true; do sleep 0.1; done"]}'
spid=$(inst stubborn pid)
expect 202 DELETE '/v1/instances/stubborn?timeout_s=8'
op=$(jbody .id)
sleep 0.3
expect 200 GET "/v1/operations/$op"
[ "$(jbody .status)" = running ] && [ "$(jbody .step)" = stop ] || fail "delete is not waiting in step stop: $(cat "$BODY")"
crash_zerod
alive "$spid" || fail "stubborn died with zerod"
start_zerod
wait_op "$op"
expect 404 GET /v1/instances/stubborn
alive "$spid" && fail "stubborn's process survived its resumed delete"
log "a delete interrupted by kill -9 was resumed and finished"

# zerod dies while a create waits in its spawn step, once the shim has reported and before the
# report is read (fault point create.spawn.reported, issue 10 row 13): the next zerod adopts
# the running shim and takes the pid from the shim's files, so the instance is running with
# its real pid, not null. Needs a fault-injection build (./deploy/check's).
if "$ZEROD" --list-fault-points 2>/dev/null | grep -qx create.spawn.reported; then
  ulimit -c 0 # die_at aborts every other time
  die_at create.spawn.reported api POST /v1/instances \
    '{"name":"lost","image":"busybox","memory_mib":16,"command":["/bin/sh","-c","while true; do sleep 0.1; done"]}'
  [ "$(inst lost state)" = running ] || fail "lost is $(inst lost state) after the restart"
  lpid=$(inst lost pid)
  id=$(inst lost id)
  [ "$lpid" != null ] && alive "$lpid" || fail "lost runs with pid $lpid after the restart: $(cat "$BODY")"
  [ "$lpid" = "$(cat "$T/run/instances/$id/pid")" ] || fail "lost has pid $lpid, its shim says $(cat "$T/run/instances/$id/pid")"
  act POST /v1/instances/lost/stop '{"timeout_s":0}'
  alive "$lpid" && fail "lost's process $lpid outlived its stop"
  act DELETE /v1/instances/lost
  log "a create whose spawn report was lost with zerod runs with its pid $lpid, and stops"
else
  log "SKIP the spawn-report crash: this zerod has no fault points"
fi
# The machine restarted under a running container (a power cut: its shim and its process died
# with the machine, no exit record): the next zerod, seeing another boot id than the one it
# recorded (STATE/boot_id), starts it again rather than calling it an error. Played here by
# killing the shim, then the container (the shim first: no exit record is written), and changing
# the recorded boot id. The same loss without the boot id's change is an error: the supervisor
# died and the machine did not restart.
# kill_supervised NAME: zerod down, NAME's shim and process killed (the shim first).
kill_supervised() {
  local id pid spid
  id=$(inst "$1" id)
  pid=$(inst "$1" pid)
  spid=$(cat "$T/run/instances/$id/shim.pid")
  crash_zerod
  kill -9 "$spid"
  for _ in $(seq 1 50); do alive "$spid" || break; sleep 0.1; done
  kill -9 "$pid"
  for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
  alive "$pid" && fail "$1's process $pid outlived kill -9"
  [ ! -e "$T/run/instances/$id/exit" ] || fail "$1's shim wrote an exit record"
}
loop='trap "exit 0" TERM; while true; do sleep 0.1; done'
for n in lost2 reboot; do
  act POST /v1/instances "$(jq -nc --arg n "$n" --arg c "$loop" '{name:$n,image:"busybox",memory_mib:16,command:["/bin/sh","-c",$c]}')"
done
[ "$(head -c 36 "$T/state/boot_id")" = "$(head -c 36 /proc/sys/kernel/random/boot_id)" ] ||
  fail "STATE/boot_id is not this machine's boot id: $(cat "$T/state/boot_id")"
kill_supervised lost2
start_zerod
wait_state lost2 error
[ "$(inst reboot state)" = running ] || fail "reboot is $(inst reboot state) after zerod's restart"
rpid=$(inst reboot pid)
kill_supervised reboot
printf '00000000-0000-4000-8000-000000000000' >"$T/state/boot_id"
start_zerod
grep -q "Restarting reboot: the machine restarted under it" "$T/zerod.log" || fail "zerod did not restart reboot"
for _ in $(seq 1 100); do [ "$(inst reboot state)" = running ] && [ "$(inst reboot pid)" != "$rpid" ] && break; sleep 0.1; done
[ "$(inst reboot state)" = running ] || fail "reboot is $(inst reboot state) after the machine's restart: $(cat "$BODY")"
alive "$(inst reboot pid)" || fail "reboot runs with pid $(inst reboot pid), which is not alive"
[ "$(inst lost2 state)" = error ] || fail "lost2 (error before the machine's restart) is $(inst lost2 state)"
[ "$(head -c 36 "$T/state/boot_id")" = "$(head -c 36 /proc/sys/kernel/random/boot_id)" ] || fail "zerod did not record the boot id again"
log "a container whose shim died without the machine is an error; one that died with the machine is started again"
act POST /v1/instances/reboot/stop '{"timeout_s":5}'
for n in lost2 reboot; do act DELETE "/v1/instances/$n"; done

stop_zerod
[ -z "$(leftover_mounts)" ] || fail "mounts left: $(leftover_mounts)"
[ -z "$(leftover_processes)" ] || fail "processes left: $(leftover_processes)"
echo PASS

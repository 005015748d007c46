#!/usr/bin/env bash
# The lab (issue 13 item 5): a power cut in the middle of a burst of creates and deletes.
#   - deploy/lab up; the busybox image; two containers that run (their root volumes and NICs
#     presented by the card) before the burst;
#   - the burst: one client, in order, volumes created (8 MiB) and some deleted, containers
#     created (a root volume cloned and presented, a NIC) and deleted (forced), each answered 202
#     with an operation, recorded as acknowledged; the card resets the host (QMP system_reset:
#     no clean stop, zerod and every container killed with the machine) at a random point of it
#     (ZERO_LAB_SEED picks it again), and the burst ends at its first call not answered 202;
#   - after the boot (zerod ready: a figure) every acknowledged operation is known to zerod and
#     ends (succeeded, or failed with its reason: printed, then judged by its object below);
#     zerod's volumes are the card's volumes (ids, the card's state volume aside); every volume
#     acknowledged as created and not as deleted exists on both, every one acknowledged as
#     deleted on neither; the card presents exactly the root and data volumes and the NICs of
#     the running instances; the containers that ran before the cut run again (the machine
#     restarted under them: zerod starts them again), and every container acknowledged as
#     created and not deleted runs, every one acknowledged as deleted is gone.
# Then `deploy/lab down` leaves nothing.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"
SEED=${ZERO_LAB_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
RANDOM=$SEED
CUT_MS=$((2000 + RANDOM % 10000)) # the cut, 2 to 12 s into the burst

# Each presented volume and NIC takes a PCIe port of the host: a1 and a2 take 4, each container
# of the burst 2 while it lives (ten iterations: a delete of one still being made is refused,
# 409) and until its withdrawal ends; with the lab's 8
# spares a create in flight at the cut found none free after the restarts ("no free PCIe port").
export ZERO_LAB_HOTPLUG_PORTS=16
lab_up
log "deploy/lab up: $UP_MS ms"
zeroctl image import bb "$ZERO_BUILD_DIR/lab/busybox/rootfs" >/dev/null || fail "zeroctl image import failed"
zeroctl network create net0 10.78.0.0/24 >/dev/null || fail "zeroctl network create failed"
for c in a1 a2; do
  zeroctl create "$c" --image bb --memory 16 --nic net0 -- /bin/sh -c 'echo up; sleep 3600' >/dev/null || fail "zeroctl create $c failed"
done
wait_console a2 up 30

# --- the burst, and the cut ----------------------------------------------------------------------
# call KIND NAME METHOD PATH [JSON]: one request; 202 is recorded "KIND NAME OPERATION" in acks,
# a refusal (4xx: a delete of what is still being made is 409) in refused, and anything else (no
# answer: the host is gone) ends the burst (exit 1 of the subshell).
call() {
  local kind=$1 name=$2 st
  shift 2
  api_target "$2"
  st=$(curl -s -m 10 -o "$T/burst.body" -w '%{http_code}' -X "$1" "${TARGET[@]}" \
    ${3:+-H 'Content-Type: application/json' --data-binary "$3"}) || st=000
  case $st in
  202) ;;
  4??)
    echo "$kind $name $st $(jq -r .error.code "$T/burst.body" 2>/dev/null)" >>"$T/refused"
    return 0
    ;;
  *)
    echo "$kind $name $st" >"$T/burst.end"
    exit 1
    ;;
  esac
  echo "$kind $name $(jq -r .id "$T/burst.body")" >>"$T/acks"
}
burst() {
  for i in $(seq 1 200); do
    call vcreate "v$i" POST /v1/volumes "{\"name\":\"v$i\",\"size_bytes\":8388608}"
    [ $((i % 3)) != 0 ] || call vdelete "v$((i - 1))" DELETE "/v1/volumes/v$((i - 1))"
    [ $((i % 4)) != 1 ] || call icreate "c$i" POST /v1/instances \
      "{\"name\":\"c$i\",\"image\":\"bb\",\"memory_mib\":16,\"nics\":[{\"network\":\"net0\"}],\"command\":[\"/bin/sh\",\"-c\",\"sleep 3600\"]}"
    [ $((i % 4)) != 3 ] || [ "$i" -lt 11 ] || call idelete "c$((i - 10))" DELETE "/v1/instances/c$((i - 10))?force=true"
  done
  echo "done 200" >"$T/burst.end"
}
: >"$T/acks"
: >"$T/refused"
burst &
BURST=$!
sleep "$(awk -v m=$CUT_MS 'BEGIN { print m / 1000 }')"
n_before=$(wc -l <"$T/acks")
op POST /v1/host/power '{"action":"reset"}' | jq -e '.power == "running"' >/dev/null || fail "the card did not reset the host"
t0=$(now_ms)
wait "$BURST" || true
[ -s "$T/burst.end" ] || fail "the burst ended without saying why"
log "power cut (seed $SEED): the card reset the host ${CUT_MS} ms into the burst, after $n_before acknowledged calls; the burst ended with $(wc -l <"$T/acks") acknowledged ($(wc -l <"$T/refused") refused: $(awk '{ print $3, $4 }' "$T/refused" | sort | uniq -c | tr -s ' \n' ' ')), then: $(cat "$T/burst.end")"
[ "$n_before" -gt 0 ] || fail "nothing was acknowledged before the cut: the burst did not run"

# --- after the boot ------------------------------------------------------------------------------
zerod_ready_after "$t0" 180
log "host boot to zerod ready after the reset: $READY_MS ms"
# What zerod found at its start after the cut (its log on the host's console): the instances it
# started again, the operations it resumed and those it sent back to card_up.
host_console 200000 | grep -a -e 'The machine booted since' -e 'Restarting ' -e 'Resuming operation' \
  -e 'back to step card_up' -e 'not fully in line' | sed 's/^/#   zerod: /; s/<[0-9]>zerod: //' || true
failed=0
while read -r kind name id; do
  for _ in $(seq 1 30); do
    api GET "/v1/operations/$id?wait=10"
    [ "$STATUS" = 200 ] || fail "the operation $id ($kind $name), answered 202 before the cut, is unknown to zerod after it: HTTP $STATUS $(cat "$BODY")"
    [ "$(jbody .status)" = running ] || break
  done
  case $(jbody .status) in
  succeeded) ;;
  failed)
    failed=$((failed + 1))
    log "  $kind $name: operation $id failed: $(jbody .error.code): $(jbody .error.message)"
    ;;
  *) fail "the operation $id ($kind $name) did not end: $(cat "$BODY")" ;;
  esac
done <"$T/acks"
log "every acknowledged operation is known to zerod and ended: $(wc -l <"$T/acks") ($failed failed)"

# What was acknowledged, object by object: the last acknowledged call decides. The call the cut
# left unanswered ("KIND NAME 000" in burst.end) may have been recorded before the host went, or
# not: its object may be either way (2), but still whole (a ready volume, a running instance).
read -r end_kind end_name end_st <"$T/burst.end" || true
[ "$end_st" = 000 ] || end_name=
want() { # CREATE DELETE [UNANSWERED]
  awk -v c="$1" -v d="$2" -v u="${3:-}" '$1 == c { w[$2] = 1 } $1 == d { w[$2] = 0 }
    END { if (u != "") w[u] = 2; for (v in w) print v, w[v] }' "$T/acks"
}
case $end_kind in
vcreate | vdelete) want_v=$(want vcreate vdelete "$end_name") want_i=$(want icreate idelete) ;;
icreate | idelete) want_v=$(want vcreate vdelete) want_i=$(want icreate idelete "$end_name") ;;
*) want_v=$(want vcreate vdelete) want_i=$(want icreate idelete) ;;
esac
[ -z "$end_name" ] || log "$end_kind $end_name was unanswered at the cut: either way is right, whole"
expect 200 GET /v1/volumes
cp "$BODY" "$T/volumes.json"
while read -r v w; do
  [ -n "$v" ] || continue
  have=$(jq --arg n "$v" '[.volumes[] | select(.name == $n)] | length' "$T/volumes.json")
  if [ "$w" = 2 ] && [ "$have" = 0 ]; then
    continue
  elif [ "$w" != 0 ]; then
    [ "$have" = 1 ] || fail "volume $v, acknowledged as created (and not as deleted), is not in zerod's store"
    st=$(jq -r --arg n "$v" '.volumes[] | select(.name == $n) | .state' "$T/volumes.json")
    [ "$st" = ready ] || fail "volume $v is $st after the cut's operations ended"
  else
    [ "$have" = 0 ] || fail "volume $v, acknowledged as deleted, is still in zerod's store"
  fi
done <<<"$want_v"
# zerod's volumes and the card's, by id (the card's own state volume aside).
jq -r '.volumes[].id' "$T/volumes.json" | sort >"$T/ids.zerod"
op GET /v1/volumes >"$T/card-volumes.json"
sv=$(op GET /v1/host | jq -r .state_volume)
jq -r --arg sv "$sv" '.volumes[] | select(.id != $sv) | .id' "$T/card-volumes.json" | sort >"$T/ids.card"
diff "$T/ids.zerod" "$T/ids.card" >"$T/ids.diff" || fail "zerod's volumes and the card's differ (< zerod only, > card only): $(cat "$T/ids.diff")"
log "volumes: zerod's store and the card agree ($(wc -l <"$T/ids.card") volumes), every acknowledged create and delete in effect"

# The instances: every one acknowledged as created runs, every one deleted is gone, a1 and a2 run
# again; what the card presents is what the running instances have. The restarts are zerod's own
# operations, not among the acknowledged ones: they are waited for (no instance between states).
for _ in $(seq 1 120); do
  expect 200 GET /v1/instances
  jq -e '[.instances[] | select(.state | IN("creating", "starting", "stopping", "deleting"))] | length == 0' "$BODY" >/dev/null && break
  sleep 0.5
done
cp "$BODY" "$T/instances.json"
jq -e '[.instances[] | select(.state | IN("creating", "starting", "stopping", "deleting"))] | length == 0' "$T/instances.json" >/dev/null ||
  fail "instances still between states 60 s after the acknowledged operations ended: $(jq -c '[.instances[] | {name, state}]' "$T/instances.json")"
while read -r c w; do
  [ -n "$c" ] || continue
  st=$(jq -r --arg n "$c" '[.instances[] | select(.name == $n) | .state][0] // "absent"' "$T/instances.json")
  if [ "$w" = 2 ]; then
    [ "$st" = running ] || [ "$st" = absent ] || fail "container $c, unanswered at the cut, is $st"
  elif [ "$w" = 1 ]; then
    [ "$st" = running ] || fail "container $c, acknowledged as created (and not as deleted), is $st"
  else
    [ "$st" = absent ] || fail "container $c, acknowledged as deleted, is $st"
  fi
done <<<"$want_i"
for c in a1 a2; do
  st=$(jq -r --arg n "$c" '.instances[] | select(.name == $n) | .state' "$T/instances.json")
  [ "$st" = running ] || fail "$c, which ran when the power was cut, is $st: $(jq -c --arg n "$c" '.instances[] | select(.name == $n)' "$T/instances.json")"
done
# The running instances' volumes (root and data) and NICs, by id, against the card's presentations.
jq -r '.instances[] | select(.state == "running") | .name' "$T/instances.json" | while read -r c; do
  expect 200 GET "/v1/instances/$c"
  jq -r '.nics[]?.id' "$BODY"
  for v in $(jq -r '.volumes[]?.name' "$BODY"); do
    jq -r --arg n "$v" '.volumes[] | select(.name == $n) | .id' "$T/volumes.json"
  done
done | sort >"$T/pres.zerod"
op GET /v1/presentations | jq -r '.presentations[] | select(.system | not) | "\(.id) \(.state)"' | sort >"$T/pres.card.all"
awk '$2 != "presented" { bad = 1 } END { exit bad }' "$T/pres.card.all" ||
  fail "the card has presentations that are not presented: $(cat "$T/pres.card.all")"
awk '{ print $1 }' "$T/pres.card.all" >"$T/pres.card"
diff "$T/pres.zerod" "$T/pres.card" >"$T/pres.diff" ||
  fail "the running instances' volumes and NICs (<) and the card's presentations (>) differ: $(cat "$T/pres.diff")"
log "instances: $(jq '[.instances[] | select(.state == "running")] | length' "$T/instances.json") running, a1 and a2 again; the card presents exactly their $(wc -l <"$T/pres.card") volumes and NICs"

lab_down_clean
log "deploy/lab down: $DOWN_MS ms; nothing of the lab is left"
echo PASS

#!/usr/bin/env bash
# bms in the lab, with the host reset under it (issue 14: "a host reset at each fault point of the
# hand-over and take-back leaves one consistent state"): a bms instance is created and the card
# resets the host (POST /v1/host/power reset) at a point of the hand-over chosen by a delay after
# the create's 202 (zerod's steps: the root volume made and presented, the kernel loaded, the card
# told) or, for "ho", as soon as the card holds the host for the tenant (the kexec, the tenant's
# boot), then once during a take-back (the host's image booting).
# After each, one consistent state within 240 s: the tenant running (its marker on the host's
# console; then stopped through the card) or the host back with the instance stopped; never an
# instance in error, never two hand-overs; and at the end of each round the card presents nothing
# but its state volume and holds no tenant. ZERO_LAB_DELAYS overrides the delays (seconds, or ho).
# Last, the card itself killed between two steps of the hand-over (its fault point hand-over.5)
# and started again: it resumes the hand-over from its record and zerod's request asked again
# gets its answer: the tenant runs.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/lib.sh"

"$ZERO_SOURCE_DIR/deploy/images/build-busybox-image" "$T/bb" >"$T/bb.log" 2>&1 ||
  fail "build-busybox-image failed: $(tail -n 20 "$T/bb.log")"
lab_up
zeroctl image import bbk "$T/bb/rootfs" --kernel "$T/bb/vmlinuz" --initrd "$T/bb/initrd.img" >/dev/null ||
  fail "zeroctl image import failed"
STATE_ID=$(op GET /v1/host | jq -r .state_volume)

# settle NAME MARK: 0 once the tenant runs (its marker shown, the card's tenant running), 1 once
# zerod answers with NAME stopped; fails on anything else within 240 s.
settle() {
  for _ in $(seq 1 2400); do
    if op GET /v1/host/tenant | jq -e '.tenant.state == "running"' >/dev/null &&
      host_console 8000 | grep -q "^marker $2"; then
      return 0
    fi
    # zerod may hand the host over at any moment: a request that gets no answer is no failure
    if curl -s -m 2 -o "$BODY" --cacert "$ZERO_CACERT" -H "Authorization: Bearer $ZERO_TOKEN" "$ZERO_URL/v1/instances/$1"; then
      [ "$(jq -r '.state // empty' "$BODY" 2>/dev/null)" = error ] && fail "$1 is in error after a reset: $(cat "$BODY")"
      [ "$(jq -r '.state // empty' "$BODY" 2>/dev/null)" = stopped ] && return 1
    fi
    sleep 0.1
  done
  fail "$1: neither the tenant nor zerod with $1 stopped within 240 s"
}
# clean NAME: stopped in zerod, deleted, and the card holds nothing of it.
clean() {
  local pres
  zerod_ready_after "$(now_ms)" 240
  for _ in $(seq 1 600); do
    api GET "/v1/instances/$1"
    [ "$(jbody .state)" = stopped ] && break
    sleep 0.1
  done
  [ "$(jbody .state)" = stopped ] || fail "$1 is $(jbody .state) once zerod is back: $(cat "$BODY")"
  expect 202 DELETE "/v1/instances/$1"
  wait_op "$(jbody .id)"
  for _ in $(seq 1 300); do
    pres=$(op GET /v1/presentations | jq -c '[.presentations[].id]')
    [ "$pres" = "[\"$STATE_ID\"]" ] && break
    sleep 0.1
  done
  [ "$pres" = "[\"$STATE_ID\"]" ] || fail "after $1 the card presents $pres, not only its state volume"
  op GET /v1/host/tenant | jq -e '.tenant == null' >/dev/null || fail "after $1 the card holds a tenant"
}

read -r -a delays <<<"${ZERO_LAB_DELAYS:-1 4 8 ho}"
i=0
for d in "${delays[@]}"; do
  i=$((i + 1))
  name=f$i
  mark=$name-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
  expect 202 POST /v1/instances "$(jq -nc --arg n "$name" --arg c "echo marker $mark; while :; do sleep 1; done" \
    '{name: $n, mode: "bms", image: "bbk", command: ["/bin/sh", "-c", $c]}')"
  if [ "$d" = ho ]; then # as soon as the card holds the host for the tenant: the kexec, its boot
    for _ in $(seq 1 2400); do
      op GET /v1/host/tenant | jq -e '.tenant.state == "running"' >/dev/null && break
      sleep 0.1
    done
  else
    sleep "$d"
  fi
  held=$(op GET /v1/host/tenant | jq -r '.tenant.state // "none"')
  op POST /v1/host/power '{"action": "reset"}' >"$T/reset.json"
  if settle "$name" "$mark"; then
    log "reset at $d (the card's tenant: $held): the hand-over went on, the tenant runs"
    op POST "/v1/instances/$name/stop" '{"timeout_s": 60}' | jq -e '.exit_code == 143' >/dev/null ||
      fail "$name: the stop through the card"
  else
    log "reset at $d (the card's tenant: $held): the host back, $name stopped (exit code $(jq -r .exit_code "$BODY"))"
  fi
  clean "$name"
done

# A reset while the host boots its image after a take-back: zerod comes back all the same.
mark=tb-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
expect 202 POST /v1/instances "$(jq -nc --arg c "echo marker $mark; while :; do sleep 1; done" \
  '{name: "tb", mode: "bms", image: "bbk", command: ["/bin/sh", "-c", $c]}')"
settle tb "$mark" || fail "tb: the host came back before its tenant ran"
op POST /v1/instances/tb/stop '{"timeout_s": 60}' | jq -e '.exit_code == 143' >/dev/null || fail "tb: the stop through the card"
sleep 3
op POST /v1/host/power '{"action": "reset"}' >/dev/null
clean tb
log "a reset while the host boots its image after a take-back: zerod back, tb stopped and deleted, the card clean"

# --- the card killed in the middle of the hand-over and started again: it resumes --------------------
# The card's fault point hand-over.5 (card/job.c): it _exit(86)s before the hand-over's step 5, the
# state volume's disk already on the failing node, its export not yet removed, zerod's request
# unanswered. Started again (deploy/lab up), it runs the hand-over to its end from its record;
# zerod, which asks again while the card does not answer, gets the answer and hands the host over.
card_alive() { local pid; pid=$(head -c 20 "$LAB/state/zero-card.lock" 2>/dev/null | tr -dc 0-9); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
card_up() { # card_up [VAR=VALUE...]: the card (killed first if it runs) started again by deploy/lab up
  local pid
  pid=$(head -c 20 "$LAB/state/zero-card.lock" 2>/dev/null | tr -dc 0-9)
  if card_alive; then kill -9 "$pid"; fi
  for _ in $(seq 1 100); do card_alive || break; sleep 0.1; done
  env "$@" ZERO_BUILD_DIR="$ZERO_BUILD_DIR" "$ZERO_SOURCE_DIR/deploy/lab" up "$LAB" >/dev/null 2>"$T/card_up.log" ||
    fail "deploy/lab up (the card started again) failed: $(tail -n 5 "$T/card_up.log")"
}
card_up ZERO_CARD_FAULT_POINT=hand-over.5
mark=cr-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
expect 202 POST /v1/instances "$(jq -nc --arg c "echo marker $mark; while :; do sleep 1; done" \
  '{name: "cr", mode: "bms", image: "bbk", command: ["/bin/sh", "-c", $c]}')"
for _ in $(seq 1 2400); do card_alive || break; sleep 0.1; done
card_alive && fail "the card never reached its fault point hand-over.5"
grep -q 'Fault point hand-over.5 reached' "$LAB/card.log" || fail "the card ended, but not at hand-over.5: $(tail -n 5 "$LAB/card.log")"
log "the card died at hand-over.5 (the state volume's disk on the failing node, its export still there)"
card_up
grep -q 'The card restarted during the hand-over to cr: resumed' "$LAB/card.log" ||
  fail "the restarted card did not resume the hand-over: $(grep -v QMP "$LAB/card.log" | tail -n 5)"
if settle cr "$mark"; then
  op GET /v1/host/tenant | jq -e '.tenant.name == "cr" and .tenant.state == "running"' >/dev/null ||
    fail "the card's tenant after its restart: $(op GET /v1/host/tenant)"
  log "the card started again: the hand-over resumed and ended, zerod asked again and handed over, cr runs"
  op POST /v1/instances/cr/stop '{"timeout_s": 60}' | jq -e '.exit_code == 143' >/dev/null || fail "cr: the stop through the card"
else
  fail "cr: the hand-over was not resumed after the card's restart (zerod shows cr stopped)"
fi
clean cr
log "the card killed mid hand-over and started again: one hand-over, cr stopped and deleted, the card clean"
lab_down_clean
echo "PASS: bms with the host reset at ${#delays[@]} points of the hand-over and once in a take-back; the card restarted mid hand-over"

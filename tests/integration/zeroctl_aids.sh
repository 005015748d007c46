#!/usr/bin/env bash
# zeroctl's aids (issue 16 item 1): create --help lists the modes and which this node offers
# (asked from a real zerod; without one it says it could not ask); the bash completion script
# sourced into bash completes verbs, a verb's options, modes, and instance and image names from
# the real zerod; the man pages made from the --help texts render with man -l without a warning
# and name every option their help lists. And the items of issue 16's list that zeroctl answers,
# on the real zerod: ls --json, list, stop --grace within the global --timeout, --timeout 0,
# rm --force at once, events ending with the newest, the quickstart's socket without ZERO_URL.
. "$(dirname "$0")/lib.sh"
: "${ZEROCTL:?ZEROCTL must point at the zeroctl binary (set by ctest)}"
: "${ZERO_BUILD_DIR:?}"
MAN=$ZERO_BUILD_DIR/cli/man

# --- create --help without a zerod: the modes, and that it could not ask -----------------------
start=$(date +%s%N)
ZERO_URL=unix:$T/none.sock "$ZEROCTL" create --help >"$T/help.none" || fail "create --help failed"
[ $((($(date +%s%N) - start) / 1000000)) -lt 3000 ] || fail "create --help without zerod took over 3 s"
for m in container vm bms; do
  grep -qE "^  $m +[a-z]" "$T/help.none" || fail "create --help does not list mode $m: $(cat "$T/help.none")"
done
grep -q '^This node: could not ask zerod which it offers: cannot connect' "$T/help.none" ||
  fail "create --help without zerod does not say it could not ask: $(tail -3 "$T/help.none")"
log "create --help without zerod: the three modes, and 'could not ask'"

# --- with zerod: what GET /v1/node's plugins say, mode by mode ----------------------------------
start_zerod
"$ZEROCTL" --url "unix:$SOCK" create --help >"$T/help.node" || fail "create --help failed"
grep -qF "This node (zerod at unix:$SOCK):" "$T/help.node" || fail "no 'This node' section: $(cat "$T/help.node")"
expect 200 GET /v1/node
jq -r '.plugins[] | if .available then "  \(.mode)|offered" else "  \(.mode)|not offered: \(.reason)" end' "$BODY" >"$T/want"
[ -s "$T/want" ] || fail "zerod lists no plugins"
while IFS='|' read -r mode says; do
  grep -qE "^$mode +${says//[()]/.}\$" "$T/help.node" || fail "create --help does not say '$mode $says': $(cat "$T/help.node")"
done <"$T/want"
jq -e '.plugins[] | select(.mode == "container" and .available)' "$BODY" >/dev/null ||
  fail "the container plugin is not available here: the test did not see an offered mode"
"$ZEROCTL" --url "unix:$SOCK" switch --help >"$T/help.switch" || fail "switch --help failed"
grep -qE '^  container +offered$' "$T/help.switch" || fail "switch --help lacks the node's modes: $(cat "$T/help.switch")"
log "create and switch --help: each plugin's mode offered or not, with zerod's reason"

# --- bash completion, sourced into bash -----------------------------------------------------------
make_image busybox
act POST /v1/instances '{"name":"web1","image":"busybox","memory_mib":16,"command":["/bin/sleep","600"]}'
act POST /v1/instances '{"name":"web2","image":"busybox","memory_mib":16,"command":["/bin/sleep","600"]}'
cat >"$T/complete.sh" <<'EOF'
source <("$ZEROCTL" completion bash) || exit 1
# check WANT WORDS...: COMPREPLY for the line "zeroctl WORDS", the last word being completed,
# sorted, must be WANT.
check() {
  local want=$1 got; shift
  COMP_WORDS=("$ZEROCTL" "$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
  _zeroctl
  got=$(printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort | paste -sd' ')
  [ "$got" = "$want" ] || { echo "zeroctl $*<TAB>: '$got', not '$want'"; exit 1; }
}
EOF
# The cases; instance and image names come from zerod, through --url on the line or $ZERO_URL.
cat >>"$T/complete.sh" <<EOF
check "show start stop switch" s
check "image" im
check "import list ls rm show" image ""
check "--force" rm --fo
check "--cacert --force --help --json --keep-volumes --timeout --token --url --version -f" rm -
check "--grace" stop web1 --g
check "bms container vm" create x --mode ""
check "vm" create x --mode v
check "bms container vm" switch web1 ""
check "nvme virtio-blk virtio-scsi" attach-volume web1 v1 --personality ""
check "web1 web2" --url unix:$SOCK show ""
check "web1 web2" --url unix:$SOCK stop w
check "busybox" --url unix:$SOCK create x --image b
check "busybox" --url unix:$SOCK image show ""
check "web1" --json --url=unix:$SOCK rm web1
check "" --url unix:$SOCK create newname
check "" --url unix:$T/none.sock show ""
check "bash" completion ""
echo COMPLETION-OK
EOF
ZEROCTL=$ZEROCTL bash "$T/complete.sh" >"$T/complete.out" 2>&1 || fail "completion: $(cat "$T/complete.out")"
grep -q COMPLETION-OK "$T/complete.out" || fail "completion: $(cat "$T/complete.out")"
ZERO_URL=unix:$SOCK ZEROCTL=$ZEROCTL bash -c 'source <("$ZEROCTL" completion bash); COMP_WORDS=("$ZEROCTL" rm ""); COMP_CWORD=2; _zeroctl; echo "${COMPREPLY[*]}"' >"$T/env.out" 2>&1
[ "$(tr ' ' '\n' <"$T/env.out" | sort | paste -sd' ')" = "web1 web2" ] || fail "names through ZERO_URL: $(cat "$T/env.out")"
log "completion: verbs, options, modes, and instance and image names from zerod"

# --- issue 16's list, against the real zerod (test_zeroctl checks the requests on a fake one) ---
zc() { "$ZEROCTL" --url "unix:$SOCK" "$@"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# ls --json and list: options after the verb, list as ls.
zc ls --json >"$T/ls.json" || fail "zeroctl ls --json failed"
[ "$(jq -r '[.instances[].name] | sort | join(" ")' "$T/ls.json")" = "web1 web2" ] || fail "ls --json: $(cat "$T/ls.json")"
zc list >"$T/list.out" || fail "zeroctl list failed"
grep -qE '^web2 +container +running' "$T/list.out" || fail "zeroctl list: $(cat "$T/list.out")"
# stop --grace S (SIGTERM to SIGKILL; sleep as pid 1 ignores TERM) is waited for within the global
# --timeout: the stop takes the grace, not the default 10 s.
start=$(date +%s%N)
zc stop web1 --grace 2 --timeout 60 >"$T/stop.out" || fail "zeroctl stop --grace 2: $(cat "$T/stop.out")"
t=$(ms_since "$start")
[ "$t" -ge 1900 ] && [ "$t" -lt 8000 ] || fail "stop --grace 2 took $t ms"
[ "$(inst web1 state)" = stopped ] || fail "web1 is $(inst web1 state) after stop"
# --timeout 0: zeroctl does not wait (the operation goes on).
start=$(date +%s%N)
zc --timeout 0 start web1 >"$T/start.out" || fail "zeroctl --timeout 0 start: $(cat "$T/start.out")"
grep -q 'accepted (operation ' "$T/start.out" || fail "--timeout 0 start: $(cat "$T/start.out")"
[ "$(ms_since "$start")" -lt 2000 ] || fail "--timeout 0 start waited"
wait_state web1 running
# rm --force: SIGKILL at once, not the 10 s of grace a shell ignoring TERM costs.
start=$(date +%s%N)
zc rm --force web2 >"$T/rm.out" || fail "zeroctl rm --force: $(cat "$T/rm.out")"
t=$(ms_since "$start")
[ "$t" -lt 5000 ] || fail "rm --force took $t ms (the grace is 10 s)"
expect 404 GET /v1/instances/web2
log "ls --json, list, stop --grace 2, --timeout 0 start, rm --force in $t ms"
# events: the newest by default, the last line the newest event zerod has.
newest=$(curl -sS --unix-socket "$SOCK" 'http://zero/v1/events?last=1' | jq -r '.events[-1].id')
zc events --limit 3 >"$T/events.out" 2>"$T/events.err" || fail "zeroctl events: $(cat "$T/events.err")"
[ "$(wc -l <"$T/events.out")" = 3 ] || fail "events --limit 3: $(cat "$T/events.out")"
[ "$(tail -1 "$T/events.out" | cut -d' ' -f1)" = "$newest" ] || fail "events does not end with the newest ($newest): $(cat "$T/events.out")"
grep -q 'the newest 3 events; --after ID' "$T/events.err" || fail "a full page of events says nothing of the older ones: $(cat "$T/events.err")"
# Both streams to one file (stdout buffered there): the events, then the hint, never amid them.
zc events --limit 3 >"$T/events.both" 2>&1 || fail "zeroctl events 2>&1: $(cat "$T/events.both")"
[ "$(head -3 "$T/events.both" | cut -d' ' -f1 | tail -1)" = "$newest" ] && tail -1 "$T/events.both" | grep -q '^zeroctl: the newest 3 events' ||
  fail "events with 2>&1: not the three events, then the hint: $(cat "$T/events.both")"
log "events: the newest, ending with event $newest"
# Without ZERO_URL, where ./var/run/zerod.sock is a socket (the quickstart's): that zerod.
if [ -S /run/zero/zerod.sock ]; then
  log "NOT CHECKED here: the quickstart's socket as default (this machine has /run/zero/zerod.sock)"
else
  mkdir -p "$T/qs/var/run" && ln -s "$SOCK" "$T/qs/var/run/zerod.sock"
  (cd "$T/qs" && env -u ZERO_URL "$ZEROCTL" ls) >"$T/qs.out" 2>&1 || fail "zeroctl in the quickstart's directory: $(cat "$T/qs.out")"
  grep -q '^web1 ' "$T/qs.out" || fail "zeroctl without ZERO_URL did not find ./var/run/zerod.sock: $(cat "$T/qs.out")"
  log "without ZERO_URL: ./var/run/zerod.sock"
fi
zc rm -f web1 >/dev/null || fail "zeroctl rm -f web1"
stop_zerod

# --- man pages ------------------------------------------------------------------------------------
[ -f "$MAN/man1/zeroctl.1" ] && [ -f "$MAN/man8/zerod.8" ] || fail "no man pages in $MAN"
n=0
# page HELP-COMMAND...: renders $page without a warning and names each option the help lists.
check_page() {
  local page=$1; shift
  local out warn opt
  warn=$(MANWIDTH=200 man --warnings -l "$page" 2>&1 >/dev/null) || fail "man -l $page failed: $warn"
  [ -z "$warn" ] || fail "man -l $page warns: $warn"
  out=$(MANWIDTH=200 man -l "$page" 2>/dev/null)
  "$@" >"$T/page.help" 2>/dev/null || true
  for opt in $(grep -oE '^ +(-[a-z], )?--[a-z][a-z0-9-]*' "$T/page.help" | grep -oE -- '--[a-z][a-z0-9-]*|-[a-z]'); do
    grep -qF -- "$opt" <<<"$out" || fail "$page does not name $opt, which '$*' lists"
  done
  n=$((n + 1))
}
export ZERO_URL=unix:$T/none.sock
check_page "$MAN/man1/zeroctl.1" "$ZEROCTL" --help
# one page per command of zeroctl --help, and no other
mapfile -t commands < <("$ZEROCTL" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on' | sed -E 's/^  ([^ ]+( [^ ]+)?)  +.*/\1/')
[ "${#commands[@]}" -ge 30 ] || fail "zeroctl --help lists ${#commands[@]} commands"
for c in "${commands[@]}"; do
  # shellcheck disable=SC2086
  check_page "$MAN/man1/zeroctl-${c// /-}.1" "$ZEROCTL" $c --help
done
[ "$(ls "$MAN/man1" | wc -l)" = $((${#commands[@]} + 1)) ] || fail "man1 holds other pages: $(ls "$MAN/man1")"
check_page "$MAN/man8/zerod.8" "$ZEROD" --help
check_page "$MAN/man8/zerod-token.8" "$ZEROD" token --help
MANWIDTH=200 man -l "$MAN/man1/zeroctl-create.1" >"$T/create.man"
grep -qE '^ +bms +bare metal' "$T/create.man" || fail "zeroctl-create(1) lacks the modes: $(cat "$T/create.man")"
! grep -q 'This node' "$T/create.man" || fail "zeroctl-create(1) holds what a node said"
log "$n man pages render without warnings and name every option of their help"

assert_nothing_left
echo PASS

#!/usr/bin/env bash
# zeroctl exec (issue 16 item 2): POST /v1/instances/NAME/exec, upgraded to a framed stream, runs a
# command in a running container with crun exec under its shim. Real zerod, crun and zeroctl, over
# the unix socket and over TLS with a token: output, exit codes, stdin through (1 MiB round trip,
# ending at EOF), stderr apart, a killed client leaves no process, and the refusals (each with its
# status and JSON error, before any upgrade).
. "$(dirname "$0")/lib.sh"

PORT=8444
# Short idle and header timeouts: an exec outlives both, quiet, over either listener.
ZEROD_CONF_EXTRA=$'[limits]\nidle_timeout_s = 2\nheader_timeout_s = 2'
start_zerod --listen "tcp:127.0.0.1:$PORT"
make_image busybox
ADMIN=$("$ZEROD" token create ci --state-dir "$T/state" 2>"$T/token.err")
READ=$("$ZEROD" token create viewer --role read --state-dir "$T/state" 2>>"$T/token.err")
[[ "$ADMIN" == zero_* && "$READ" == zero_* ]] || fail "zerod token create printed no secret: $(cat "$T/token.err")"

zc() { ZERO_URL="unix:$SOCK" "$ZEROCTL" "$@"; }
zc_tls() { in_ns env ZERO_URL="https://127.0.0.1:$PORT" ZERO_CACERT="$T/state/tls/server.crt" "$ZEROCTL" "$@"; }

act POST /v1/instances '{"name":"c1","image":"busybox","memory_mib":32,"command":["/bin/sh","-c","trap \"exit 0\" TERM; sleep 1000 & wait"]}'

# Output and exit codes.
out=$(zc exec c1 -- echo hello from exec) || fail "exec echo failed: $out"
[ "$out" = "hello from exec" ] || fail "exec echo printed '$out'"
rc=0; zc exec c1 -- sh -c 'exit 7' || rc=$?
[ "$rc" = 7 ] || fail "exec of 'exit 7': zeroctl exited $rc"
rc=0; zc exec c1 -- sh -c 'kill -TERM $$' || rc=$?
[ "$rc" = 143 ] || fail "exec killed by SIGTERM: zeroctl exited $rc, expected 143"
log "exec: echo's output, exit code 7, 128+15 for a SIGTERM"

# stderr apart from stdout; env and cwd.
zc exec -e GREETING=hi -w /tmp c1 -- sh -c 'echo "out $GREETING $(pwd)"; echo err >&2' >"$T/o" 2>"$T/e" ||
  fail "exec with env and cwd failed: $(cat "$T/o" "$T/e")"
[ "$(cat "$T/o")" = "out hi /tmp" ] || fail "stdout was '$(cat "$T/o")'"
[ "$(cat "$T/e")" = "err" ] || fail "stderr was '$(cat "$T/e")'"
log "exec: stderr apart, --env and --workdir taken"

# stdin through: 1 MiB round trip through cat, ending at EOF; without -i stdin is empty.
head -c 1048576 /dev/urandom >"$T/mib"
zc exec -i c1 -- cat <"$T/mib" >"$T/mib.back" || fail "exec -i cat failed"
cmp -s "$T/mib" "$T/mib.back" || fail "1 MiB through cat came back different ($(wc -c <"$T/mib.back") bytes)"
n=$(echo ignored | zc exec c1 -- wc -c) || fail "exec wc -c failed"
[ "$n" = 0 ] || fail "without -i the command read '$n' bytes"
log "exec -i: 1 MiB through cat and back, whole; without -i, an empty stdin"

# A terminal (-t): crun exec --tty hands zerod the pty master; stdout and stderr are one stream.
zc exec -t c1 -- sh -c 'tty; echo to-stderr >&2' >"$T/tty.out" 2>"$T/tty.err" || fail "exec -t failed: $(cat "$T/tty.out" "$T/tty.err")"
grep -q '^/dev/pts/' "$T/tty.out" || fail "exec -t: tty printed '$(cat "$T/tty.out")'"
grep -q 'to-stderr' "$T/tty.out" || fail "exec -t: stderr did not come with stdout: $(cat "$T/tty.out") / $(cat "$T/tty.err")"
[ ! -s "$T/tty.err" ] || fail "exec -t wrote to stderr: $(cat "$T/tty.err")"
rc=0; printf 'echo typed-in; exit 3\n' | zc exec -i -t c1 -- sh >"$T/tty2.out" 2>&1 || rc=$?
[ "$rc" = 3 ] || fail "exec -i -t sh: rc $rc: $(cat "$T/tty2.out")"
grep -q 'typed-in' "$T/tty2.out" || fail "exec -i -t: the typed command's output is missing: $(cat "$T/tty2.out")"
ls "$T"/run/instances/*/exec-*.sock 2>/dev/null && fail "a console socket was left in the run directory"
log "exec -t: a pty (tty says /dev/pts), stderr with stdout; -i -t: typed input runs, exit 3"

# On a real terminal (script(1) makes one): the window's size goes with -t (stty size inside),
# and zeroctl's raw mode is undone when it ends (icanon is back). script(1) may put a byte of its
# own before the output: the size is looked for anywhere on a line. The size is set once crun has
# handed the terminal over, a moment after the command started (crun exec takes no size): the
# command asks after a pause.
script -qec "stty rows 33 cols 77; ZERO_URL=unix:$SOCK $ZEROCTL exec -i -t c1 -- sh -c 'sleep 1; stty size'; stty -a" /dev/null \
  </dev/null >"$T/script.out" 2>&1 || fail "exec -it under script failed: $(cat "$T/script.out")"
grep -q '33 77' "$T/script.out" || fail "exec -it: the window's size did not come through: $(cat "$T/script.out")"
grep -q ' icanon' "$T/script.out" || fail "exec -it left the terminal raw: $(cat "$T/script.out")"
log "exec -it on a terminal: stty size says 33 77 inside; the terminal is cooked again after"

# Over TLS with a token, the same; a read token may not exec.
out=$(ZERO_TOKEN=$ADMIN zc_tls exec c1 -- echo over tls) || fail "exec over TLS failed: $out"
[ "$out" = "over tls" ] || fail "exec over TLS printed '$out'"
zc_tls exec -i c1 -- cat <"$T/mib" >"$T/mib.tls" 2>"$T/tls.err" && fail "exec without a token worked"
ZERO_TOKEN=$ADMIN zc_tls exec -i c1 -- cat <"$T/mib" >"$T/mib.tls" || fail "exec -i over TLS failed"
cmp -s "$T/mib" "$T/mib.tls" || fail "1 MiB over TLS came back different ($(wc -c <"$T/mib.tls") bytes)"
rc=0; ZERO_TOKEN=$READ zc_tls exec c1 -- true 2>"$T/read.err" || rc=$?
[ "$rc" = 1 ] && grep -q 'HTTP 403' "$T/read.err" || fail "a read token's exec: rc $rc, $(cat "$T/read.err")"
log "exec over TLS with a token: output and 1 MiB through; a read token gets 403"
out=$(zc exec c1 -- sh -c 'sleep 5; echo quiet-unix') || fail "a quiet exec over the unix socket failed: $out"
[ "$out" = quiet-unix ] || fail "a quiet exec over the unix socket printed '$out'"
out=$(ZERO_TOKEN=$ADMIN zc_tls exec c1 -- sh -c 'sleep 5; echo quiet-tls') || fail "a quiet exec over TLS failed: $out"
[ "$out" = quiet-tls ] || fail "a quiet exec over TLS printed '$out'"
log "execs quiet for 5 s outlive zerod's 2 s idle and header timeouts, over the unix socket and TLS"

# A client killed mid-exec: its command is killed too.
tag=$((RANDOM + 40000))
ZERO_URL="unix:$SOCK" "$ZEROCTL" exec c1 -- sleep "$tag" &
ZC=$!
for _ in $(seq 1 100); do pgrep -f "^sleep $tag\$" >/dev/null && break; sleep 0.1; done
pgrep -f "^sleep $tag\$" >/dev/null || fail "the exec's sleep never ran"
kill -9 "$ZC"
wait "$ZC" 2>/dev/null || true
for _ in $(seq 1 50); do pgrep -f "^sleep $tag\$" >/dev/null || break; sleep 0.1; done
pgrep -f "^sleep $tag\$" >/dev/null && fail "the exec's command outlived its killed client"
pgrep -f "crun.*exec.*sleep $tag" >/dev/null && fail "crun exec outlived its killed client"
log "a client killed mid-exec: its command and crun exec are gone"

# Refusals, before any upgrade: each a status, a JSON error and a log line.
up=(-H 'Connection: Upgrade' -H 'Upgrade: zero-stream')
refuse() { # refuse STATUS CODE PATH JSON WHAT [curl args]
  local st=$1 code=$2 path=$3 json=$4 what=$5; shift 5
  STATUS=$(curl -sS -o "$BODY" -w '%{http_code}' --unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' \
    "$@" --data-binary "$json" "http://zero$path") || fail "curl for $what failed"
  [ "$STATUS" = "$st" ] || fail "$what: expected $st, got $STATUS: $(cat "$BODY")"
  [ "$(jq -r .error.code "$BODY")" = "$code" ] || fail "$what: code $(jq -r .error.code "$BODY"), expected $code"
  log "$what: $STATUS $(jq -r .error.message "$BODY")"
}
refuse 404 not_found /v1/instances/nope/exec '{"cmd":["true"]}' "no such instance" "${up[@]}"
refuse 400 malformed /v1/instances/c1/exec '{"cmd":' "bad JSON" "${up[@]}"
refuse 422 invalid /v1/instances/c1/exec '{"cmd":[]}' "an empty command" "${up[@]}"
refuse 422 invalid /v1/instances/c1/exec '{"cmd":"ls"}' "a command as a string" "${up[@]}"
refuse 422 invalid /v1/instances/c1/exec '{"cmd":["-x"]}' "a command beginning with -" "${up[@]}"
refuse 422 invalid /v1/instances/c1/exec '{"cmd":["true"],"env":["NOEQUALS"]}' "env without =" "${up[@]}"
refuse 422 invalid /v1/instances/c1/exec '{"cmd":["true"],"cwd":"rel"}' "a relative cwd" "${up[@]}"
refuse 422 invalid /v1/instances/c1/exec '{"cmd":["true"],"user":"x"}' "an unknown field" "${up[@]}"
refuse 426 upgrade_required /v1/instances/c1/exec '{"cmd":["true"]}' "no Upgrade header"
grep -q 'POST /v1/instances/c1/exec: 426' "$T/zerod.log" || fail "no log line for the refused exec"
act POST /v1/instances '{"name":"c2","image":"busybox","memory_mib":16,"command":["/bin/sh","-c","sleep 1000"]}'
act POST /v1/instances/c2/stop '{"force":true}'
refuse 409 wrong_state /v1/instances/c2/exec '{"cmd":["true"]}' "a stopped instance" "${up[@]}"
rc=0; zc exec c2 -- true 2>"$T/c2.err" || rc=$?
[ "$rc" = 1 ] && grep -q 'wrong_state' "$T/c2.err" || fail "zeroctl exec of a stopped instance: rc $rc, $(cat "$T/c2.err")"

# The interactive console (issue 16 item 3): a container created with stdin (`create -i`) running
# sh reads what is typed into `zeroctl console -i` (its stdin is a pipe its shim keeps), and its
# answer comes back; leaving (stdin's end here, Ctrl-] on a terminal) leaves it running, and a
# second console works too.
zc create -i c3 --image busybox --memory 16 -- /bin/sh >"$T/c3.out" 2>&1 || fail "create -i c3: $(cat "$T/c3.out")"
[ "$(inst c3 stdin)" = true ] || fail "c3 created with -i shows stdin $(inst c3 stdin)"
sleep 0.5
[ "$(inst c3 state)" = running ] || fail "sh with a kept stdin did not stay running: $(inst c3 state)"
(printf 'echo answer-$((6*7))\n'; sleep 2) | zc console -i c3 >"$T/con.out" 2>"$T/con.err" ||
  fail "console -i failed: $(cat "$T/con.out" "$T/con.err")"
grep -q '^answer-42' "$T/con.out" || fail "console -i: no answer in '$(cat "$T/con.out")' ($(cat "$T/con.err"))"
grep -q 'Escape character is \^\]' "$T/con.err" || fail "console -i did not say how to leave: $(cat "$T/con.err")"
[ "$(inst c3 state)" = running ] || fail "leaving the console stopped c3"
(printf 'echo again-$((2+3))\n'; sleep 2) | zc console -i c3 >"$T/con2.out" 2>/dev/null || fail "a second console -i failed"
grep -q '^again-5' "$T/con2.out" || fail "second console -i: '$(cat "$T/con2.out")'"
refuse 426 upgrade_required /v1/instances/c3/console '{}' "a console without an Upgrade header"
refuse 409 wrong_state /v1/instances/c2/console '{}' "a console of a stopped instance" "${up[@]}"
refuse 422 invalid /v1/instances/c3/console '{"x":1}' "a console with fields" "${up[@]}"
log "console -i: sh read the typed line and answered, twice; the instance ran on"

# Without stdin (the default, as docker run without -i): the container's stdin is /dev/null, so
# cat reads its end at once and exits 0; a console -i of such a container (c1) is a 409 that says
# how to create one with stdin, before any upgrade, logged; zeroctl says so and exits 1.
act POST /v1/instances '{"name":"c4","image":"busybox","memory_mib":16,"command":["cat"]}'
wait_state c4 stopped
[ "$(inst c4 exit_code)" = 0 ] || fail "cat without stdin exited $(inst c4 exit_code), expected 0 (EOF at once)"
[ "$(inst c4 stdin)" = false ] || fail "c4 created without stdin shows stdin $(inst c4 stdin)"
[ "$(inst c1 stdin)" = false ] || fail "c1 created without stdin shows stdin $(inst c1 stdin)"
refuse 409 conflict /v1/instances/c1/console '{}' "a console of a container without stdin" "${up[@]}"
grep -q '"stdin": true' <(jq -r .error.message "$BODY") || fail "the 409 does not say how: $(cat "$BODY")"
grep -q 'POST /v1/instances/c1/console: 409' "$T/zerod.log" || fail "no log line for the refused console"
rc=0; echo 'echo hi' | zc console -i c1 >"$T/c1con.out" 2>"$T/c1con.err" || rc=$?
[ "$rc" = 1 ] && grep -q 'create -i' "$T/c1con.err" || fail "console -i of c1: rc $rc, $(cat "$T/c1con.out" "$T/c1con.err")"
[ "$(inst c1 state)" = running ] || fail "the refused console changed c1: $(inst c1 state)"
log "without stdin: cat ended at once with 0; console -i is 409 (create it with \"stdin\": true)"
act DELETE '/v1/instances/c4?force=true'

# Too many: an instance's shim runs 16 execs at once; the 17th is refused (503 busy), and the 16
# end with their clients.
tag3=$((RANDOM + 40000)); PIDS=()
for i in $(seq 1 16); do
  ZERO_URL="unix:$SOCK" "$ZEROCTL" exec c1 -- sleep "$tag3" >/dev/null 2>&1 &
  PIDS+=($!)
done
for _ in $(seq 1 200); do [ "$(pgrep -fc "^sleep $tag3\$")" = 16 ] && break; sleep 0.1; done
[ "$(pgrep -fc "^sleep $tag3\$")" = 16 ] || fail "16 execs did not all run: $(pgrep -fc "^sleep $tag3\$")"
rc=0; zc exec c1 -- true 2>"$T/many.err" || rc=$?
[ "$rc" = 1 ] && grep -q 'too many execs.*HTTP 503' "$T/many.err" || fail "the 17th exec: rc $rc, $(cat "$T/many.err")"
kill -9 "${PIDS[@]}"
wait "${PIDS[@]}" 2>/dev/null || true
for _ in $(seq 1 50); do pgrep -f "^sleep $tag3\$" >/dev/null || break; sleep 0.1; done
pgrep -f "^sleep $tag3\$" >/dev/null && fail "execs outlived their killed clients"
log "the 17th exec at once: $(cat "$T/many.err")"

# A client that reads slowly: the command's output waits (bounded buffers), nothing is lost.
n=$(zc exec c1 -- head -c 8388608 /dev/zero | { sleep 2; wc -c; }) || fail "exec with a slow reader failed"
[ "$n" = 8388608 ] || fail "a slow reader got $n bytes of 8 MiB"
log "exec: 8 MiB to a reader that starts 2 s late, whole"

# zerod stopping ends the open execs (their commands killed), and exits cleanly (ASan: no leak).
tag2=$((RANDOM + 40000))
ZERO_URL="unix:$SOCK" "$ZEROCTL" exec c1 -- sleep "$tag2" >"$T/stop.out" 2>"$T/stop.err" &
ZC=$!
for _ in $(seq 1 100); do pgrep -f "^sleep $tag2\$" >/dev/null && break; sleep 0.1; done
pgrep -f "^sleep $tag2\$" >/dev/null || fail "the exec's sleep never ran"
stop_zerod
rc=0; wait "$ZC" || rc=$?
[ "$rc" = 1 ] || fail "zeroctl exec across zerod's stop exited $rc: $(cat "$T/stop.err")"
for _ in $(seq 1 50); do pgrep -f "^sleep $tag2\$" >/dev/null || break; sleep 0.1; done
pgrep -f "^sleep $tag2\$" >/dev/null && fail "an exec's command outlived zerod's stop"
log "zerod's stop: the open exec's client told ($(head -c 100 "$T/stop.err")), its command killed"
start_zerod --listen "tcp:127.0.0.1:$PORT"

# "stdin" is kept across zerod's restart (the store's spec; c3's shim ran on) and the instance's
# own stop and start: its new shim keeps a pipe again, and a console types into it.
[ "$(inst c3 stdin)" = true ] && [ "$(inst c1 stdin)" = false ] || fail "stdin after zerod's restart: c3 $(inst c3 stdin), c1 $(inst c1 stdin)"
act POST /v1/instances/c3/stop '{"force":true}'
act POST /v1/instances/c3/start
fd0=$(readlink "/proc/$(inst c3 pid)/fd/0") || fail "cannot read c3's stdin"
[[ "$fd0" == pipe:* ]] || fail "c3 started again has stdin $fd0, not a pipe"
fd0=$(readlink "/proc/$(inst c1 pid)/fd/0") || fail "cannot read c1's stdin"
[ "$fd0" = /dev/null ] || fail "c1 (no stdin) has stdin $fd0, not /dev/null"
(printf 'echo after-$((3*3))\n'; sleep 2) | zc console -i c3 >"$T/con3.out" 2>/dev/null || fail "console -i after the restarts failed"
grep -q '^after-9' "$T/con3.out" || fail "console -i after the restarts: '$(cat "$T/con3.out")'"
log "stdin kept across zerod's restart and c3's stop and start: c3's a pipe again, c1's $fd0"

act DELETE '/v1/instances/c3?force=true'
act DELETE '/v1/instances/c1?force=true'
act DELETE /v1/instances/c2
stop_zerod
assert_nothing_left

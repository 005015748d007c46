#!/usr/bin/env bash
# zeroctl exec (issue 16 item 2): POST /v1/instances/NAME/exec, upgraded to a framed stream, runs a
# command in a running container with crun exec under its shim. Real zerod, crun and zeroctl, over
# the unix socket and over TLS with a token: output, exit codes, stdin through (1 MiB round trip,
# ending at EOF), stderr apart, a killed client leaves no process, and the refusals (each with its
# status and JSON error, before any upgrade).
. "$(dirname "$0")/lib.sh"

PORT=8444
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

# Over TLS with a token, the same; a read token may not exec.
out=$(ZERO_TOKEN=$ADMIN zc_tls exec c1 -- echo over tls) || fail "exec over TLS failed: $out"
[ "$out" = "over tls" ] || fail "exec over TLS printed '$out'"
zc_tls exec -i c1 -- cat <"$T/mib" >"$T/mib.tls" 2>"$T/tls.err" && fail "exec without a token worked"
ZERO_TOKEN=$ADMIN zc_tls exec -i c1 -- cat <"$T/mib" >"$T/mib.tls" || fail "exec -i over TLS failed"
cmp -s "$T/mib" "$T/mib.tls" || fail "1 MiB over TLS came back different ($(wc -c <"$T/mib.tls") bytes)"
rc=0; ZERO_TOKEN=$READ zc_tls exec c1 -- true 2>"$T/read.err" || rc=$?
[ "$rc" = 1 ] && grep -q 'HTTP 403' "$T/read.err" || fail "a read token's exec: rc $rc, $(cat "$T/read.err")"
log "exec over TLS with a token: output and 1 MiB through; a read token gets 403"

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

act DELETE '/v1/instances/c1?force=true'
act DELETE /v1/instances/c2
stop_zerod
assert_nothing_left

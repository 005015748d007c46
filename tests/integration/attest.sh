#!/usr/bin/env bash
# Launch measurements and their attestation (issue 17 item 3): every start records the SHA-256 of
# the kernel, initrd, command line, image base and spec; GET /v1/instances/NAME/attestation?nonce=
# answers it signed by the node's key (made at the first start, 0600, the same after a restart,
# its public half in GET /v1/node); zeroctl attest verifies it. A changed kernel gives another
# measurement; a replayed nonce or a tampered payload fails the check; bad input is refused.
. "$(dirname "$0")/lib.sh"

zc() { ZERO_URL="unix:$SOCK" "$ZEROCTL" "$@"; }
start_zerod_with_vm_image
expect 200 GET /v1/node
key=$(jbody .attestation.public_key)
[ "$(jbody .attestation.algorithm)" = ed25519 ] && [ "${#key}" = 44 ] || fail "GET /v1/node has no Ed25519 key: $(cat "$BODY")"
[ "$(stat -c %a "$T/state/attest/node.key")" = 600 ] || fail "the node's key is not 0600: $(stat -c %a "$T/state/attest/node.key")"

# a second image whose kernel differs by trailing bytes (which the boot ignores)
cp "$T/img/vmlinuz" "$T/vmlinuz2"
head -c 512 /dev/zero >>"$T/vmlinuz2"
act POST /v1/images "{\"name\":\"bb2\",\"source\":\"$T/img/rootfs\",\"kernel\":\"$T/vmlinuz2\",\"initrd\":\"$T/img/initrd.img\"}"

for i in 1 2; do
  img=bb; [ "$i" = 2 ] && img=bb2
  act POST /v1/instances "{\"name\":\"a$i\",\"mode\":\"vm\",\"image\":\"$img\",\"memory_mib\":256,\"command\":[\"/bin/sh\",\"-c\",\"echo UP; sleep 1000\"]}"
done
act POST /v1/instances '{"name":"c1","image":"bb","command":["/bin/sh","-c","sleep 1000"]}'

# zeroctl attest: verified, and the measurements are the files' own digests
out1=$(zc attest a1) || fail "zeroctl attest a1: $out1"
out2=$(zc attest a2) || fail "zeroctl attest a2: $out2"
outc=$(zc attest c1) || fail "zeroctl attest c1: $outc"
field() { awk -v k="$1" '$1 == k {print $2}' <<<"$2"; }
[ "$(field kernel "$out1")" = "$(sha256sum <"$T/img/vmlinuz" | cut -d' ' -f1)" ] || fail "a1's kernel measurement: $out1"
[ "$(field kernel "$out2")" = "$(sha256sum <"$T/vmlinuz2" | cut -d' ' -f1)" ] || fail "a2's kernel measurement: $out2"
[ "$(field kernel "$out1")" != "$(field kernel "$out2")" ] || fail "a changed kernel gave the same measurement"
[ "$(field initrd "$out1")" = "$(sha256sum <"$T/img/initrd.img" | cut -d' ' -f1)" ] &&
  [ "$(field initrd "$out1")" = "$(field initrd "$out2")" ] || fail "the initrd measurements differ: $out1 $out2"
[ "$(field cmdline "$out1")" = "$(printf '/bin/sh\0-c\0echo UP; sleep 1000\0' | sha256sum | cut -d' ' -f1)" ] ||
  fail "a1's command line measurement: $out1"
base=$(sha256sum <"$T/state/images/bb/base.ext4" | cut -d' ' -f1)
[ "$(field image_base "$out1")" = "$base" ] && [ "$(field image_base "$outc")" = "$base" ] || fail "the image base measurement: $out1 $outc"
[ "$(field kernel "$outc")" = - ] || fail "a container measured a kernel it does not boot: $outc"
# hashed at import by zero-unpack, not on zerod's loop at the start
[ "$(jq -r '."base.ext4"' "$T/state/images/bb/digests.json")" = "$base" ] &&
  [ "$(jq -r .vmlinuz "$T/state/images/bb2/digests.json")" = "$(field kernel "$out2")" ] ||
  fail "the images' digests.json: $(cat "$T/state/images/bb/digests.json" "$T/state/images/bb2/digests.json")"
grep -q "^key: *ed25519 $key\$" <<<"$out1" || fail "zeroctl attest did not name the node's key: $out1"
log "a1 and a2 differ in their kernel measurement only: $(field kernel "$out1") / $(field kernel "$out2")"

# the signed answer: a replay (asked with another nonce) and a tampered payload fail the check
api GET "/v1/instances/a1/attestation?nonce=n-one"
cp "$BODY" "$T/answer.json"
zc attest a1 --file "$T/answer.json" --nonce n-one >/dev/null || fail "a saved answer does not verify with its nonce"
rc=0; zc attest a1 --file "$T/answer.json" --nonce n-two >"$T/o" 2>"$T/e" || rc=$?
[ "$rc" != 0 ] && grep -q replayed "$T/e" || fail "a replayed answer verified (rc $rc): $(cat "$T/e")"
k2=$(sha256sum <"$T/vmlinuz2" | cut -d' ' -f1)
jq --arg k "$k2" '.payload |= (fromjson | .launch.measurements.kernel = $k | tojson)' "$T/answer.json" >"$T/tampered.json"
rc=0; zc attest a1 --file "$T/tampered.json" --nonce n-one >"$T/o" 2>"$T/e" || rc=$?
[ "$rc" != 0 ] && grep -q signature "$T/e" || fail "a tampered answer verified (rc $rc): $(cat "$T/e")"
rc=0; zc attest a1 --file "$T/answer.json" --nonce n-one --key "$(head -c 32 /dev/urandom | base64)" >"$T/o" 2>"$T/e" || rc=$?
[ "$rc" != 0 ] || fail "an answer verified against another key"
log "a replayed, a tampered and another key's answer are refused: $(cat "$T/e")"

# bad input: refused with a reason
expect 422 GET /v1/instances/a1/attestation
[ "$(jbody .error.code)" = invalid ] || fail "no nonce: $(cat "$BODY")"
expect 422 "GET" "/v1/instances/a1/attestation?nonce=a%20b"
expect 404 "GET" "/v1/instances/nope/attestation?nonce=n"

# another start is measured again (a new launch time); the key survives a restart of zerod
t1=$(jq -r '.payload | fromjson | .launch.launched_at' "$T/answer.json")
act POST /v1/instances/c1/restart
expect 200 GET "/v1/instances/c1/attestation?nonce=n3"
[ "$(jq -r '.payload | fromjson | .launch.launched_at' "$BODY")" != "$t1" ] || fail "the restart was not measured"
stop_zerod
start_zerod
expect 200 GET /v1/node
[ "$(jbody .attestation.public_key)" = "$key" ] || fail "the node's key changed across a restart"
zc attest a1 --key "$key" >/dev/null || fail "a1 does not verify with the pinned key after a restart"
for n in a1 a2 c1; do act DELETE "/v1/instances/$n?force=true"; done
stop_zerod
assert_nothing_left
echo PASS

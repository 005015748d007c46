#!/usr/bin/env bash
# The card driver is a shared object in the plugin directory ([card] driver, default softcard):
# zerod loads softcard.so from there, and refuses, without starting, a driver built for another
# card ABI version or one that is missing, saying which file and why.
. "$(dirname "$0")/lib.sh"
: "${ZERO_TEST_PLUGIN_DIR:?}"

# 0. Built like the runtime plugins: the entry (and the log setter every module has) is all it exports.
if command -v nm >/dev/null; then
  exported=$(nm -D --defined-only "$ZERO_PLUGIN_DIR/softcard.so" | awk '$2 ~ /^[TDBR]$/ {print $3}' | grep -v '^_' | sort -u)
  [ "$exported" = "zero_card_driver_entry
zero_module_set_log" ] || fail "softcard.so exports more than its entry and its log setter: $exported"
fi

# 1. The default: softcard.so from --plugin-dir, and volumes work through it.
start_zerod
grep -qF "Loaded card driver softcard from $ZERO_PLUGIN_DIR/softcard.so" "$T/zerod.log" \
  || fail "softcard.so was not loaded from the plugin directory"
expect 202 POST /v1/volumes '{"name":"v1","size_bytes":16777216}'
for _ in $(seq 1 100); do
  api GET /v1/volumes/v1
  [ "$(jbody .state)" = ready ] && break
  sleep 0.1
done
[ "$(jbody .state)" = ready ] || fail "volume v1 did not become ready: $(cat "$BODY")"
[ "$(jbody .format)" = raw ] || fail "the driver's format is not shown: $(cat "$BODY")"
stop_zerod

# zerod run by hand, expected to fail: its exit status, its log in $T/refused.log.
refused() {
  local rc=0
  write_zerod_conf
  timeout 20 nsenter --net="/run/netns/$NETNS" "$ZEROD" --config "$T/lib.conf" --state-dir "$T/state" \
    --run-dir "$T/run" --listen "unix:$SOCK" --plugin-dir "$1" --shim "$ZERO_SHIM" >"$T/refused.log" 2>&1 || rc=$?
  [ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "zerod did not refuse to start (status $rc): $(tail -5 "$T/refused.log")"
  ! curl -sf --unix-socket "$SOCK" http://zero/v1/node >/dev/null 2>&1 || fail "zerod answers without its card"
}

# 2. A driver built for another card ABI version: refused, naming the file and both versions.
mkdir -p "$T/plugins"
cp "$ZERO_TEST_PLUGIN_DIR/bad_abi_card.so" "$T/plugins/"
ZEROD_CONF_EXTRA=$'[card]\ndriver = bad_abi_card'
refused "$T/plugins"
grep -qE "Refusing card driver $T/plugins/bad_abi_card.so: built for card ABI version [0-9]+, this zerod speaks version [0-9]+" \
  "$T/refused.log" || fail "no clear refusal: $(cat "$T/refused.log")"
want=$(grep -oE 'card ABI version [0-9]+, this zerod speaks version [0-9]+' "$T/refused.log" | head -1)
set -- $want
[ "$4" != "$9" ] || fail "the versions named are the same: $want"
grep -q "Cannot load the card driver" "$T/refused.log" || fail "zerod's last word does not say why"

# 2b. A driver built for card ABI 3 (synchronous ops): refused since ABI 4, naming both versions.
cp "$ZERO_TEST_PLUGIN_DIR/abi3_card.so" "$T/plugins/"
ZEROD_CONF_EXTRA=$'[card]\ndriver = abi3_card'
refused "$T/plugins"
grep -qF "Refusing card driver $T/plugins/abi3_card.so: built for card ABI version 3, this zerod speaks version 4" \
  "$T/refused.log" || fail "a driver of card ABI 3 is not refused clearly: $(cat "$T/refused.log")"

# 3. A driver that is not there (a typo in [card] driver) names the file it looked for.
ZEROD_CONF_EXTRA=$'[card]\ndriver = nosuchcard'
refused "$ZERO_PLUGIN_DIR"
grep -qF "Refusing card driver $ZERO_PLUGIN_DIR/nosuchcard.so" "$T/refused.log" \
  || fail "a missing driver is not named: $(cat "$T/refused.log")"
echo PASS

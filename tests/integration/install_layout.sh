#!/usr/bin/env bash
# `cmake --install` gives a tree whose zerod finds its shim and plugins by itself
# (PREFIX/libexec/zero/zero-shim, PREFIX/lib/zero/plugins) and runs containers from there.
. "$(dirname "$0")/lib.sh"
: "${ZERO_BUILD_DIR:?}"

cmake --install "$ZERO_BUILD_DIR" --prefix "$T/prefix" >/dev/null
for f in bin/zerod bin/zeroctl libexec/zero/zero-shim libexec/zero/zero-unpack lib/zero/plugins/container.so \
         lib/zero/plugins/softcard.so include/zero/card.h include/zero/error.h \
         lib/systemd/system/zerod.service lib/systemd/system/zerod.socket etc/zero/zerod.conf \
         share/bash-completion/completions/zeroctl share/man/man1/zeroctl.1 share/man/man1/zeroctl-create.1 \
         share/man/man8/zerod.8; do
  [ -e "$T/prefix/$f" ] || fail "install lacks $f"
done
use_netns
write_zerod_conf
nsenter --net="/run/netns/$NETNS" "$T/prefix/bin/zerod" --config "$T/lib.conf" --state-dir "$T/state" --run-dir "$T/run" --listen "unix:$SOCK" >>"$T/zerod.log" 2>&1 &
ZEROD_PID=$!
for _ in $(seq 1 200); do curl -sf --unix-socket "$SOCK" http://zero/v1/node >/dev/null 2>&1 && break; sleep 0.05; done
expect 200 GET /v1/node
[ "$(jbody '.plugins[] | select(.mode == "container") | .path')" = "$T/prefix/lib/zero/plugins/container.so" ] || fail "plugin not loaded from the prefix: $(cat "$BODY")"
[ "$(jbody '.plugins[] | select(.mode == "bms") | .path')" = "$T/prefix/lib/zero/plugins/bms.so" ] || fail "bms.so not installed and loaded: $(cat "$BODY")"
grep -qF "Loaded card driver softcard from $T/prefix/lib/zero/plugins/softcard.so" "$T/zerod.log" \
  || fail "the card driver was not loaded from the prefix"
# The installed card ABI is enough to build a driver: card.h and error.h alone.
printf '#include <zero/card.h>\nconst struct zero_card_driver *zero_card_driver_entry(void);\n' >"$T/driver.c"
cc -std=c11 -Wall -Werror -c -I "$T/prefix/include" "$T/driver.c" -o "$T/driver.o" || fail "card.h does not build on its own"
make_image busybox
act POST /v1/instances '{"name":"i1","image":"busybox","command":["/bin/sleep","60"]}'
grep -q -- "$T/prefix/libexec/zero/zero-shim" "/proc/$(cat "$T/run/instances/$(inst i1 id)/shim.pid")/cmdline" \
  || fail "the shim does not run from the prefix"
act DELETE '/v1/instances/i1?force=true'
ZEROCTL_OUT=$("$T/prefix/bin/zeroctl" --url "unix:$SOCK" ls) || fail "installed zeroctl failed"
stop_zerod
echo PASS

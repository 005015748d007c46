#!/usr/bin/env bash
# ./deploy/quickstart's steps (issue 16: "each quickstart re-runs cmake and builds every test and
# benchmark"): run from a copy of deploy/ with cmake, dpkg-query and zerod replaced by recorders,
# the first run configures once and builds the zero-node target only; the second does not
# configure again. zerod is started listening on ./var/run/zerod.sock, the socket zeroctl finds
# without ZERO_URL (cli/zeroctl.h, ZEROCTL_QUICKSTART_SOCKET).
. "$(dirname "$0")/lib.sh"

R=$T/repo
mkdir -p "$R/build/agent" "$R/var/images/busybox/bin" "$T/bin"
cp -r "$ZERO_SOURCE_DIR/deploy" "$R/"
# cmake: says what it was asked; a configure leaves its cache, as the real one does.
cat >"$T/bin/cmake" <<EOF
#!/bin/sh
echo "\$*" >>"$T/cmake.log"
case " \$* " in *" -B build "*) touch "$R/build/CMakeCache.txt" ;; esac
EOF
# dpkg-query: every package is there (nothing is installed by a test).
printf '#!/bin/sh\nprintf "install ok installed"\n' >"$T/bin/dpkg-query"
# zerod: "token create" prints a secret; the exec of the node records its arguments.
cat >"$R/build/agent/zerod" <<EOF
#!/bin/sh
[ "\$1" = token ] && { echo secret; exit 0; }
echo "\$*" >>"$T/zerod.args"
EOF
chmod +x "$T/bin/cmake" "$T/bin/dpkg-query" "$R/build/agent/zerod"

PATH=$T/bin:$PATH bash "$R/deploy/quickstart" >"$T/qs1.out" 2>&1 || fail "first quickstart: $(cat "$T/qs1.out")"
[ "$(sed -n 1p "$T/cmake.log")" = "-S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo" ] ||
  fail "the first run did not configure first: $(cat "$T/cmake.log")"
[ "$(sed -n 2p "$T/cmake.log")" = "--build build -j$(nproc) --target zero-node" ] ||
  fail "the first run built another target: $(cat "$T/cmake.log")"
[ "$(wc -l <"$T/cmake.log")" = 2 ] || fail "the first run ran cmake $(wc -l <"$T/cmake.log") times: $(cat "$T/cmake.log")"
grep -qF -- "--listen unix:$R/var/run/zerod.sock" "$T/zerod.args" ||
  fail "zerod does not listen on ./var/run/zerod.sock: $(cat "$T/zerod.args")"
grep -q 'ZEROCTL_QUICKSTART_SOCKET "var/run/zerod.sock"' "$ZERO_SOURCE_DIR/cli/zeroctl.h" ||
  fail "zeroctl's default quickstart socket is not var/run/zerod.sock"
log "first run: configured once, built zero-node, zerod on ./var/run/zerod.sock"

: >"$T/cmake.log"
PATH=$T/bin:$PATH bash "$R/deploy/quickstart" >"$T/qs2.out" 2>&1 || fail "second quickstart: $(cat "$T/qs2.out")"
[ "$(cat "$T/cmake.log")" = "--build build -j$(nproc) --target zero-node" ] ||
  fail "the second run configured again or built more: $(cat "$T/cmake.log")"
log "second run: no configure, zero-node only"
echo PASS

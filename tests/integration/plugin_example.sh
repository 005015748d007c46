#!/usr/bin/env bash
# A runtime plugin built out of tree: `cmake --install` into a temporary prefix gives the ABI's
# headers and zero-plugin.pc; tests/plugins/example_plugin.c is compiled with `pkg-config
# --cflags zero-plugin` only (no path into the source tree), dropped in the plugin directory
# beside container.so and vm.so, and zerod loads it: GET /v1/node lists it, its mode is one a user
# may ask for, and an instance of it runs (its command as a host process under the shim), stops
# and goes.
. "$(dirname "$0")/lib.sh"
: "${ZERO_BUILD_DIR:?}"

cmake --install "$ZERO_BUILD_DIR" --prefix "$T/prefix" >/dev/null
[ -f "$T/prefix/include/zero/plugin.h" ] && [ -f "$T/prefix/include/zero/error.h" ] || fail "headers not installed"
export PKG_CONFIG_PATH=$T/prefix/share/pkgconfig
CFLAGS=$(pkg-config --cflags zero-plugin) || fail "pkg-config finds no zero-plugin in $PKG_CONFIG_PATH"
# The .pc is relocatable: its include directory is the prefix's, wherever the prefix went.
[ "$(realpath "$(pkg-config --variable=includedir zero-plugin)")" = "$(realpath "$T/prefix/include")" ] ||
  fail "zero-plugin.pc points at $(pkg-config --variable=includedir zero-plugin), not $T/prefix/include"
major=$(sed -n 's/^#define ZERO_PLUGIN_ABI_MAJOR \([0-9]*\)$/\1/p' "$ZERO_SOURCE_DIR/include/zero/plugin.h")
minor=$(sed -n 's/^#define ZERO_PLUGIN_ABI_MINOR \([0-9]*\)$/\1/p' "$ZERO_SOURCE_DIR/include/zero/plugin.h")
[ "$(pkg-config --modversion zero-plugin)" = "$major.$minor" ] || fail "zero-plugin's version is not the ABI's $major.$minor"
pkg-config --atleast-version="$major.0" zero-plugin || fail "pkg-config --atleast-version $major.0 refused"

# Out of tree: a copy of the source in a directory of its own, the installed headers only.
mkdir "$T/example"
cp "$ZERO_SOURCE_DIR/tests/plugins/example_plugin.c" "$T/example/"
PLUGINS=$T/prefix/lib/zero/plugins
# shellcheck disable=SC2086 # CFLAGS is a list of flags
(cd "$T/example" && cc -std=c11 -Wall -Wextra -Wno-unused-parameter -Werror $CFLAGS -shared -fPIC -o "$PLUGINS/example.so" example_plugin.c) ||
  fail "the example plugin does not build against the installed headers"
nm -D --defined-only "$PLUGINS/example.so" | grep -q ' T zero_plugin_entry$' || fail "example.so exports no zero_plugin_entry"

ZERO_PLUGIN_DIR=$PLUGINS start_zerod
grep -q "Loaded plugin example (mode example, ABI $major.$minor) from $PLUGINS/example.so: available" "$T/zerod.log" ||
  fail "zerod's log does not say it loaded example.so"
expect 200 GET /v1/node
[ "$(jbody '[.plugins[] | select(.mode == "example")] | length')" = 1 ] || fail "GET /v1/node lists no example plugin: $(cat "$BODY")"
[ "$(jbody '.plugins[] | select(.mode == "example") | .runtime')" = "example 1 (host processes)" ] ||
  fail "the example plugin's probe did not reach the node: $(cat "$BODY")"
[ "$(jbody '.plugins[] | select(.mode == "example") | .path')" = "$PLUGINS/example.so" ] || fail "example.so's path"

# The modes a user may ask for are the loaded plugins'.
expect 422 POST /v1/instances '{"name":"x","mode":"mainframe","image":"busybox","command":["/bin/true"]}'
[ "$(jbody .error.code)" = invalid ] || fail "unknown mode: code $(jbody .error.code)"
[ "$(jbody .error.message)" = "unknown mode 'mainframe': expected bms, container, example or vm" ] ||
  fail "unknown mode's message: $(jbody .error.message)"

make_image busybox
act POST /v1/instances '{"name":"ex1","mode":"example","image":"busybox","command":["/bin/sleep","300"]}'
wait_state ex1 running
[ "$(inst ex1 mode)" = example ] || fail "ex1's mode is $(inst ex1 mode)"
pid=$(inst ex1 pid)
alive "$pid" || fail "ex1's process $pid does not run"
[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" = "/bin/sleep 300 " ] || fail "ex1 runs $(tr '\0' ' ' <"/proc/$pid/cmdline")"
expect 200 GET /v1/node
[ "$(jbody .mode)" = example ] || fail "the node's mode with an example instance running: $(jbody .mode)"
grep -q "example: ex1 started (start 1)" "$T/zerod.log" || fail "the plugin's log line (through services->log) is missing"
act POST /v1/instances/ex1/stop '{"timeout_s":5}'
[ "$(inst ex1 state)" = stopped ] || fail "ex1 did not stop"
alive "$pid" && fail "ex1's process $pid outlived its stop"
# A second start: the plugin's data on the ctx was kept (set_data / get_data).
act POST /v1/instances/ex1/start
wait_state ex1 running
grep -q "example: ex1 started (start 2)" "$T/zerod.log" || fail "the plugin's data did not survive between starts"
act DELETE '/v1/instances/ex1?force=true'
expect 404 GET /v1/instances/ex1
stop_zerod
assert_nothing_left
echo PASS

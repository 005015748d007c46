#!/usr/bin/env bash
# The layers of docs/architecture.md ("Layers"), checked on the sources: each layer includes only
# its own headers and those of the layers below it, and no HTTP status number appears below the
# HTTP front. A violation names the file, the line and the rule it breaks.
set -euo pipefail
cd "${ZERO_SOURCE_DIR:?}"
bad=0
violation() { echo "FAIL: $1: $2" >&2; bad=1; }

# includes FILE: the project headers FILE includes, one a line ("agent/http.h")
includes() { sed -n 's/^#include "\([^"]*\)".*/\1/p' "$1"; }

# layer FILE: the layer a source file belongs to
layer() {
  case $1 in
  # the HTTP server both APIs serve with: a common helper, whose replies carry statuses
  common/http*) echo httpd ;;
  common/*) echo common ;;
  store/*) echo store ;;
  shim/*) echo shim ;;
  io/qmp.* | io/netlink/* | io/hotplug.* | io/qemu_args.* | io/card_loader.*) echo iolib ;;
  io/*) echo io ;;
  card/api*) echo cardfront ;;
  card/*) echo card ;;
  plugins/*) echo plugin ;;
  agent/main.c) echo main ;;
  agent/http* | agent/api* | agent/tls.* | agent/token_cmd.c) echo front ;;
  agent/unpack.c | agent/extract.*) echo helper ;;
  agent/*) echo core ;;
  cli/*) echo cli ;;
  *) echo other ;;
  esac
}

# allowed LAYER HEADER: whether a file of LAYER may include HEADER
allowed() {
  local l=$1 h=$2
  case $h in zero/* | common/*) return 0 ;; esac
  case $l in
  common | httpd) return 1 ;;
  store) [[ $h == store/* ]] ;;
  shim) [[ $h == shim/* ]] ;;
  # the host's interfaces that drivers, the agent, plugins and the card daemon share (QMP and a
  # device's hot-plug over it, QEMU's common arguments, rtnetlink, a card driver's loader): no driver's
  iolib) [[ $h == io/qmp.h || $h == io/netlink/* || $h == io/hotplug.h || $h == io/qemu_args.h || $h == io/card_loader.h ]] ;;
  io) [[ $h == io/* || $h == shim/client.h || $h == shim/proto.h ]] ;;
  # zero-card, the card's own software: its files, what io/ shares (QMP, hot-plug, the driver's
  # loader, the host's netlink helpers) and the shim's client; nothing of zerod's agent
  card | cardfront) [[ $h == card/* || $h == io/* || $h == shim/client.h ]] ;;
  # plugins see the ABI, common helpers and the shared QMP client, hot-plug and QEMU arguments;
  # nothing of the agent
  plugin) [[ $h == plugins/* || $h == io/qmp.h || $h == io/hotplug.h || $h == io/qemu_args.h ]] ;;
  # zero-unpack: a program of its own; it shares the image layout's names (image.h) and nothing else
  helper) [[ $h == agent/extract.h || $h == agent/unpack.h || $h == agent/image.h ]] ;;
  # the core never reaches up into the HTTP front, nor into a card driver (a loaded plugin); of io/
  # it may use the shared clients only (agent/netns.c: io/netlink; agent/card.c: the loader)
  core) [[ $h != agent/http* && $h != agent/api* && $h != cli/* &&
    ($h != io/* || $h == io/qmp.h || $h == io/netlink/* || $h == io/card_loader.h) ]] ;;
  front | main) [[ $h != cli/* ]] ;;
  cli) [[ $h == cli/* ]] ;;
  *) return 0 ;;
  esac
}

n=0
while read -r f; do
  l=$(layer "$f")
  while read -r h; do
    [ -n "$h" ] || continue
    n=$((n + 1))
    allowed "$l" "$h" || violation "$f" "a $l file includes $h"
  done < <(includes "$f")
done < <(git ls-files 'common/*.[ch]' 'store/*.[ch]' 'shim/*.[ch]' 'io/*.[ch]' 'card/*.[ch]' 'plugins/*.[ch]' 'agent/*.[ch]' 'cli/*.[ch]')

# No HTTP status below the front: a zero_error carries a domain code (include/zero/error.h).
while IFS=: read -r f line text; do
  case $(layer "$f") in httpd | front | cardfront | main | cli | other) continue ;; esac
  [[ $text =~ ^[[:space:]]*(\*|/\*|//) ]] && continue # a comment's example
  violation "$f:$line" "an HTTP status below the HTTP front: $text"
done < <(git grep -nE '(zero_error_set|reply[a-z_]*)\([^;]*\b(4[0-9]{2}|5[0-9]{2})\b' -- '*.c' '*.h' || true)

[ "$bad" = 0 ] || exit 1
echo "# $n includes in layers common, store, shim, iolib, io, card, plugin, core, front, cli: none points up"
echo PASS

#!/usr/bin/env bash
# unit_sandbox.sh COMMAND...: runs COMMAND (zerod) under what deploy/zerod.service's hardening
# takes away that can be had without systemd as PID 1: its CapabilityBoundingSet, its
# NoNewPrivileges and its UMask, read from the unit itself so the two cannot drift. (The
# seccomp parts, SystemCallFilter= and RestrictRealtime=, need systemd to install them.)
set -euo pipefail
unit=${ZERO_SOURCE_DIR:?}/deploy/zerod.service
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
[ -n "$caps" ] || { echo "unit_sandbox: no CapabilityBoundingSet= in $unit" >&2; exit 1; }
set_arg=-all
for c in $caps; do set_arg+=",+$(echo "${c#CAP_}" | tr 'A-Z' 'a-z')"; done
args=(--bounding-set "$set_arg")
grep -qx 'NoNewPrivileges=yes' "$unit" && args+=(--no-new-privs)
umask "$(sed -n 's/^UMask=//p' "$unit")"
exec setpriv "${args[@]}" -- "$@"

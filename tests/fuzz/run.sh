#!/usr/bin/env bash
# run.sh FUZZER SECONDS WORKDIR [libFuzzer flags...]
# One fuzz run of SECONDS on a fresh copy of the target's seed corpus (tests/fuzz/corpus/NAME,
# NAME from the binary's name fuzz_NAME), with its dictionary and options when it has them.
# WORKDIR is emptied first; it gets the grown corpus (corpus/) and crash inputs (artifacts/).
# The targets' scratch files go to a directory in /dev/shm (tmpfs: a file rewritten per input
# costs ~1 ms on a journalling disk), else to WORKDIR/tmp; it is removed at the end. Exits
# non-zero on any crash, leak, timeout or sanitizer report: libFuzzer's exit status. SECONDS 0
# runs until -runs=N (given in the flags).
set -euo pipefail
fuzzer=$1 seconds=$2 work=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
name=$(basename "$fuzzer")
name=${name#fuzz_}

rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
if [ -d "$here/corpus/$name" ]; then
  cp -r "$here/corpus/$name/." "$work/corpus/"
fi

flags=(-timeout=10 -print_final_stats=1 "-artifact_prefix=$work/artifacts/")
[ "$seconds" -gt 0 ] && flags+=("-max_total_time=$seconds")
[ -f "$here/$name.dict" ] && flags+=("-dict=$here/$name.dict")
if [ -f "$here/$name.options" ]; then
  # OSS-Fuzz's format: "key = value" lines under [libfuzzer]; '#' starts a comment.
  while IFS='=' read -r key value; do
    key=$(echo "$key" | tr -d '[:space:]')
    value=$(echo "$value" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
    case "$key" in ''|'#'*|'['*) continue ;; esac
    flags+=("-$key=$value")
  done <"$here/$name.options"
fi

if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  TMPDIR=$(mktemp -d /dev/shm/zero-fuzz-"$name".XXXXXX)
else
  TMPDIR=$work/tmp
  mkdir -p "$TMPDIR"
fi
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
# Leaks fail the run (libFuzzer checks after each input); UBSan stops at the first report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
echo "fuzz_$name: ${flags[*]} $* $work/corpus"
"$fuzzer" "${flags[@]}" "$@" "$work/corpus"

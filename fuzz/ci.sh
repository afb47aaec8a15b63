#!/bin/bash
# CI for the fuzz targets: build every target, replay every committed input (seeds and crash regressions)
# once, then fuzz each target briefly. Usage: fuzz/ci.sh [SECONDS_PER_TARGET] (default 25; 0 skips fuzzing).
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); `-s none`: no sanitizer, so stable Rust works.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-25}
options=(-rss_limit_mb=512 -timeout=5)

# The committed input directories of a target that exist (corpus/regressions/<target>/ always does).
inputs() {
  local dirs=("corpus/$1" "corpus/regressions/$1")
  case $1 in parse_flat | index_vs_replay | reassemble) dirs+=(corpus/flat) ;; esac
  for dir in "${dirs[@]}"; do
    if [ -d "$dir" ]; then echo "$dir"; fi
  done
}

# Without a sanitizer (-s none) libFuzzer warns once per missing __sanitizer_* hook (about 50 lines per
# run) that it does without them: noise, filtered from its standard error.
without_hook_warnings() {
  "$@" 2> >(grep -v '^WARNING: Failed to find function "__sanitizer_' >&2)
}

cargo fuzz build -s none
for target in $(cargo fuzz list); do
  echo "== replay $target"
  # shellcheck disable=SC2046
  without_hook_warnings cargo fuzz run -s none "$target" $(inputs "$target") -- -runs=0 "${options[@]}"
done
if [ "$seconds" -gt 0 ]; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  for target in $(cargo fuzz list); do
    echo "== fuzz $target for ${seconds}s"
    mkdir -p "$scratch/$target"
    # New inputs go to the scratch directory (the first one), never into the committed corpus.
    # shellcheck disable=SC2046
    without_hook_warnings cargo fuzz run -s none "$target" "$scratch/$target" $(inputs "$target") -- "${options[@]}" \
      -dict=fuzz/dict -max_len=131072 -max_total_time="$seconds"
  done
fi

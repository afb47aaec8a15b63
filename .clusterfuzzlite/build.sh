#!/bin/bash -eu
# Builds every cargo-fuzz target of kdump-flat into $OUT with its seed corpus (corpus/<target>/ plus the
# crash regressions corpus/regressions/<target>/), the shared dictionary and libFuzzer options.
cd "$SRC/kdump-flat"

# cargo fuzz picks up the sanitizer and coverage flags that the base image exports.
cargo fuzz build -O --debug-assertions

BUILD_DIR=fuzz/target/x86_64-unknown-linux-gnu/release
for source in fuzz/fuzz_targets/*.rs; do
  target=$(basename "${source%.rs}")
  cp "$BUILD_DIR/$target" "$OUT/"
  cp fuzz/dict "$OUT/$target.dict"
  printf '[libfuzzer]\nrss_limit_mb = 512\ntimeout = 5\n' > "$OUT/$target.options"
  seeds=()
  for dir in "corpus/$target" "corpus/regressions/$target"; do
    if [ -d "$dir" ]; then
      seeds+=("$dir")
    fi
  done
  if [ "$target" = parse_flat ] || [ "$target" = index_vs_replay ] || [ "$target" = reassemble ]; then
    seeds+=(corpus/flat)
  fi
  if [ ${#seeds[@]} -gt 0 ]; then
    find "${seeds[@]}" -maxdepth 1 -type f ! -name '*.md' ! -name '*.py' ! -name '.gitkeep' -print0 |
      xargs -0 zip -jq "$OUT/${target}_seed_corpus.zip"
  fi
done

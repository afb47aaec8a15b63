#!/bin/bash
# Library users do not get the test machinery: without the default `harness` feature the library builds,
# and none of proptest, rand, rand_chacha or arbitrary is among its normal dependencies.
set -eu
cd "$(dirname "$0")/.."
cargo build --lib --no-default-features
found=$(cargo tree --no-default-features -e normal --prefix none \
    | grep -E '^(proptest|rand|rand_chacha|rand_core|arbitrary) ' | sort -u || true)
if [ -n "$found" ]; then
    echo "error: the library without default features depends on test machinery:" >&2
    echo "$found" >&2
    exit 1
fi
echo "ok: cargo build --lib --no-default-features builds; no proptest/rand/rand_chacha/arbitrary in its tree"

#!/bin/bash
# The fast test tier: the unit tests and the integration tests without the slow ones listed in
# .cargo/mutants.toml (the same command cargo-mutants runs on each mutant). Extra arguments go to the test binary, e.g. a filter.
set -eu
cd "$(dirname "$0")/.."
mapfile -t args < <(/usr/bin/python3 -c '
import tomllib
with open(".cargo/mutants.toml", "rb") as f:
    c = tomllib.load(f)
print("\n".join(c["additional_cargo_args"] + c["additional_cargo_test_args"]))')
exec cargo test "${args[@]}" "$@"

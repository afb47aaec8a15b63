#!/bin/bash
# The test suite: installs the real tools the differential tests need, then runs every test.
set -eu
cd "$(dirname "$0")/.."
bash scripts/install-test-tools.sh
bash scripts/check-lib-features.sh
cargo test

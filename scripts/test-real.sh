#!/bin/bash
# The real-tool tests that `cargo test` skips (#[ignore]): they run QEMU and need downloads.
#   1. scripts/fetch-extras.sh: QEMU 10 (bookworm-backports) and makedumpfile 1.7.6 (trixie), unpacked under
#      $ORACLES_DIR (default /tmp/kdump-oracles), nothing installed system-wide;
#   2. scripts/make-real-dumps.sh $KDUMP_REAL_DIR kernel: a booted Linux guest (downloads Debian's cloud
#      kernel once) and makedumpfile's dumps of it, unless $KDUMP_REAL_DIR already holds them;
#   3. the ignored tests: the firmware dumps regenerate byte for byte; the booted guest's dumps against
#      makedumpfile -R, check, libkdumpfile and the ELF dump; from-elf == QEMU's kdump-zlib of the booted guest.
# usage: scripts/test-real.sh            (KDUMP_REAL_DIR defaults to a new temporary directory)
# Needs: apt-get install makedumpfile python3-libkdumpfile qemu-system-x86 cpio (scripts/install-test-tools.sh)
set -eu
cd "$(dirname "$0")/.."
bash scripts/fetch-extras.sh
dir=${KDUMP_REAL_DIR:-$(mktemp -d /tmp/kdump-real.XXXXXX)}
[ -s "$dir/lk.elf" ] || bash scripts/make-real-dumps.sh "$dir" kernel
KDUMP_REAL_DIR=$dir cargo test --test real_regenerate --test real_dumps --test from_elf_real -- --ignored

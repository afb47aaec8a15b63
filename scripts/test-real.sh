#!/bin/bash
# The real-tool tests that `cargo test` skips (#[ignore]): they run QEMU and need downloads.
#   1. scripts/fetch-extras.sh: QEMU 10 (bookworm-backports) and makedumpfile 1.7.6 (trixie), unpacked under
#      $ORACLES_DIR (default /tmp/kdump-oracles), nothing installed system-wide;
#   2. scripts/make-real-dumps.sh $KDUMP_REAL_DIR kernel: a booted Linux guest under QEMU 7.2 and under
#      QEMU 10 (downloads Debian's cloud kernel once) and makedumpfile's dumps of the QEMU 7.2 one, unless
#      $KDUMP_REAL_DIR already holds them;
#   3. the ignored tests: the firmware dumps regenerate byte for byte; the booted guest's dumps against
#      makedumpfile -R, QEMU 10's raw file, check, libkdumpfile and the ELF dump; from-elf == QEMU 7.2's kdump-zlib
#      and QEMU 10's kdump-zlib and kdump-raw-zlib of the booted guests.
# usage: scripts/test-real.sh   (KDUMP_REAL_DIR: keep/reuse the generated dumps there; default: a temporary
#   directory, removed at the end; ~600 MB while it runs, ~1-2 min after the first download)
# Needs: apt-get install makedumpfile python3-libkdumpfile qemu-system-x86 cpio (scripts/install-test-tools.sh)
set -eu
cd "$(dirname "$0")/.."
bash scripts/fetch-extras.sh
if [ -n "${KDUMP_REAL_DIR:-}" ]; then dir=$KDUMP_REAL_DIR; mkdir -p "$dir"
else dir=$(mktemp -d /tmp/kdump-real.XXXXXX); trap 'rm -rf "$dir"' EXIT; fi
[ -s "$dir/lk.elf" ] && [ -s "$dir/q10-lk.kdump-raw-zlib" ] || bash scripts/make-real-dumps.sh "$dir" kernel
KDUMP_REAL_DIR=$dir cargo test --test all -- --ignored real_regenerate:: real_dumps:: real_from_elf:: model_kernel_oracle:: \
  model_makedumpfile_oracle:: kdump_join:: real_to_elf::

#!/bin/bash
# Installs the real tools the tests compare against (Debian 12 packages), if they are missing:
#   makedumpfile 1.7.2 (-R reassembly, -F), python3-libkdumpfile 0.5.1 (page reads), qemu-system-x86 7.2,
#   xxd and cpio (used by the real-dump scripts), GNU time (peak RSS in tests); drgn from PyPI in a virtual environment
#   ($KDUMP_FLAT_VENV, default /opt/kdump-flat-venv: the to-elf tests open our ELF files with it).
#   Needs root (or sudo), the Debian archive and PyPI.
set -eu
need=()
command -v makedumpfile >/dev/null || need+=(makedumpfile)
/usr/bin/python3 -c 'import kdumpfile' 2>/dev/null || need+=(python3-libkdumpfile)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v xxd >/dev/null || need+=(xxd)
command -v cpio >/dev/null || need+=(cpio)
# GNU time measures a command's peak RSS in the memory-bound tests (campaign_regressions).
[ -x /usr/bin/time ] || need+=(time)
# The build itself needs the system zlib (build.rs refuses libz-sys's bundled copy): pkg-config, zlib1g-dev.
command -v pkg-config >/dev/null || need+=(pkg-config)
pkg-config --exists zlib 2>/dev/null || need+=(zlib1g-dev)
/usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
VENV=${KDUMP_FLAT_VENV:-/opt/kdump-flat-venv}
if ! "$VENV/bin/python" -c 'import drgn' 2>/dev/null; then
  SUDO=; [ "$(id -u)" = 0 ] || [ -w "$(dirname "$VENV")" ] || SUDO=sudo
  $SUDO /usr/bin/python3 -m venv "$VENV"
  $SUDO "$VENV/bin/pip" install -q drgn
fi
makedumpfile -v 2>&1 | head -1
"$VENV/bin/python" -c 'import drgn; print("drgn", drgn.__version__, "in '"$VENV"'")'
/usr/bin/python3 -c 'import kdumpfile; print("python3-libkdumpfile: ok")'

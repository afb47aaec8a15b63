#!/bin/bash
# Installs the real tools the tests compare against (Debian 12 packages), if they are missing:
#   makedumpfile 1.7.2 (-R reassembly, -F), python3-libkdumpfile 0.5.1 (page reads), qemu-system-x86 7.2,
#   xxd and cpio (used by the real-dump scripts). Needs root (or sudo) and the Debian archive.
set -eu
need=()
command -v makedumpfile >/dev/null || need+=(makedumpfile)
/usr/bin/python3 -c 'import kdumpfile' 2>/dev/null || need+=(python3-libkdumpfile)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v xxd >/dev/null || need+=(xxd)
command -v cpio >/dev/null || need+=(cpio)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
makedumpfile -v 2>&1 | head -1
/usr/bin/python3 -c 'import kdumpfile; print("python3-libkdumpfile: ok")'

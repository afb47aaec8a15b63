#!/bin/bash
# Make the real dumps of corpus/real/ with the real tools (QEMU dump-guest-memory and makedumpfile).
#
# usage: scripts/make-real-dumps.sh OUTDIR [firmware|kernel|all]     (default: all)
#
# Needs (Debian 12):  apt-get install makedumpfile python3-libkdumpfile qemu-system-x86 crash cpio
#   plus scripts/fetch-extras.sh (QEMU 10 from bookworm-backports, makedumpfile 1.7.6 from trixie, both
#   unpacked under $ORACLES_DIR, default /tmp/kdump-oracles; nothing installed system-wide).
#   The kernel part downloads Debian's cloud kernel and busybox-static with `apt-get download` (~28 MB,
#   once, cached under $ORACLES_DIR/kernel).
# Environment: ORACLES_DIR (default /tmp/kdump-oracles); FW_RAM (default 16M); KERNEL_RAM (default 96M, the
#   smallest that boots comfortably); KERNEL_APPEND (default "console=ttyS0 nokaslr"; drop nokaslr for a
#   randomized, usually non-zero phys_base).
#
# firmware: a guest that never ran (-S, stopped before the first instruction), TCG, pc machine, 1 vCPU,
#   no kernel: the files are deterministic (same bytes on every run of the same QEMU build).
#     fw-q72.elf  fw-q72.kdump-zlib.flat                           QEMU 7.2 (Debian)
#     fw-q10.elf  fw-q10.kdump-zlib.flat  fw-q10.kdump-raw-zlib    QEMU 10 (bookworm-backports)
#     fw-q72.fixed.elf (program headers moved), and from it with makedumpfile at dump level 1 (no VMCOREINFO):
#     fw-mdf-lzo-d1 (1.7.2 -l, raw), fw-mdf-lzo-d1.flat (-F), fw-mdf-split-d1.1 .2 (--split),
#     fw-mdf-elf-d1.flat (-F -E), fw-mdf-zstd-d1.flat (1.7.6 -z -F)
# kernel: Debian's cloud kernel + a busybox initrd booted under TCG with -device vmcoreinfo, stopped once
#   the init script printed "GUEST: READY" (not deterministic: timing-dependent guest state).
#     lk.elf (QEMU 7.2 ELF; big: KERNEL_RAM bytes), lk.kdump-zlib.flat (QEMU 7.2 of the same stopped state),
#     lk.fixed.elf (program headers moved so makedumpfile <= 1.7.x accepts it), and from lk.fixed.elf:
#     mdf-lzo-d31 (makedumpfile 1.7.2 -l -d 31, raw), mdf-lzo-d31.flat (-F), mdf-split-d31.1 .2 (--split),
#     mdf-elf-d31.flat (-F -E: flattened ELF with overlapping records), mdf-zstd-d31.flat (1.7.6 -z -F).
#     q10-lk.elf  q10-lk.kdump-zlib.flat  q10-lk.kdump-raw-zlib: the same kernel and initrd booted under
#     QEMU 10 (another guest state), its three dumps of one stopped state.
# Every tool's version goes to OUTDIR/versions.txt and every file's sha256 to OUTDIR/SHA256SUMS.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: make-real-dumps.sh OUTDIR [firmware|kernel|all]}
what=${2:-all}
D=${ORACLES_DIR:-/tmp/kdump-oracles}
FW_RAM=${FW_RAM:-16M}
KERNEL_RAM=${KERNEL_RAM:-96M}
KERNEL_APPEND=${KERNEL_APPEND:-console=ttyS0 nokaslr}
QMP=$here/qmp.py
Q72=qemu-system-x86_64
Q10=$D/qemu10/usr/bin/qemu-system-x86_64
M172=makedumpfile
M176=$D/mdf176/usr/bin/makedumpfile
mkdir -p "$out"
out=$(cd "$out" && pwd)

q10() {  # QEMU 10 unpacked, not installed: its modules are not needed, its firmware is found with -L/-bios
  QEMU_MODULE_DIR="$D/qemu10/nomodules" "$Q10" -L "$D/qemu10/usr/share/qemu" -L /usr/share/qemu \
    -bios "$D/qemu10/usr/share/seabios/bios-256k.bin" -display none -audio none "$@"
}

dump() {  # dump SOCK FORMAT FILE: dump-guest-memory without paging, into FILE
  rm -f "$3"
  "$QMP" "$1" "{\"execute\":\"dump-guest-memory\",\"arguments\":{\"paging\":false,\"protocol\":\"file:$3\",\"format\":\"$2\"}}" >/dev/null
}

start_stopped_guest() {  # NAME QEMU... : a firmware-only guest that never runs (-S); sets $sock and $qpid
  local name=$1; shift
  sock=$out/$name.qmp; rm -f "$sock"
  "$@" -machine pc,accel=tcg -cpu qemu64 -m "$FW_RAM" -S -nographic -serial null -monitor none -parallel none \
    -qmp unix:"$sock",server=on,wait=off >"$out/$name.qemu.log" 2>&1 &
  qpid=$!
  "$QMP" "$sock" '{"execute":"stop"}' >/dev/null
}

quit_guest() { "$QMP" "$sock" '{"execute":"quit"}' >/dev/null || true; wait "$qpid" 2>/dev/null || true; rm -f "$sock"; }

firmware_dumps() {
  start_stopped_guest fw-q72 "$Q72"
  dump "$sock" elf "$out/fw-q72.elf"
  dump "$sock" kdump-zlib "$out/fw-q72.kdump-zlib.flat"
  quit_guest
  start_stopped_guest fw-q10 q10
  dump "$sock" elf "$out/fw-q10.elf"
  dump "$sock" kdump-zlib "$out/fw-q10.kdump-zlib.flat"
  dump "$sock" kdump-raw-zlib "$out/fw-q10.kdump-raw-zlib"
  quit_guest
  # makedumpfile on QEMU 7.2's firmware ELF: no VMCOREINFO, so only dump level 1 (zero pages) is possible;
  # deterministic as well (makedumpfile copies no clock into the dump).
  move_program_headers "$out/fw-q72.elf" "$out/fw-q72.fixed.elf"
  makedumpfile_set "$out/fw-q72.fixed.elf" fw-mdf 1
}

fetch_kernel() {  # Debian's cloud kernel and busybox-static, unpacked; a busybox initrd with fw_cfg loaded
  K=$D/kernel; mkdir -p "$K"
  if ! ls "$K"/x/boot/vmlinuz-* >/dev/null 2>&1; then
    ( cd "$K" && pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/{print $2; exit}') &&
      apt-get download "$pkg" busybox-static >/dev/null && mkdir -p x && for d in *.deb; do dpkg-deb -x "$d" x; done )
  fi
  VMLINUZ=$(ls "$K"/x/boot/vmlinuz-* | head -1)
  if [ ! -s "$K/initrd.gz" ]; then
    rm -rf "$K/ird"; mkdir -p "$K"/ird/{bin,proc,sys,dev}
    cp "$K"/x/bin/busybox "$K"/ird/bin/; cp "$K"/x/lib/modules/*/kernel/drivers/firmware/qemu_fw_cfg.ko "$K"/ird/
    printf '%s\n' '#!/bin/busybox sh' '/bin/busybox mount -t proc proc /proc' '/bin/busybox mount -t sysfs sys /sys' \
      '/bin/busybox insmod /qemu_fw_cfg.ko' 'echo "GUEST: READY"' '/bin/busybox sleep 100000' > "$K"/ird/init
    chmod +x "$K"/ird/init; (cd "$K"/ird && find . | cpio -o -H newc 2>/dev/null | gzip -1 -n > "$K"/initrd.gz)
  fi
}

boot_kernel_guest() {  # NAME QEMU...: boot the kernel, stop it once init printed READY; sets $sock and $qpid
  local name=$1; shift
  sock=$out/$name.qmp; rm -f "$sock" "$out/$name.console.log"
  "$@" -machine pc,accel=tcg -cpu qemu64 -m "$KERNEL_RAM" -nographic -monitor none -parallel none \
    -serial file:"$out/$name.console.log" -device vmcoreinfo -kernel "$VMLINUZ" -initrd "$K/initrd.gz" \
    -append "$KERNEL_APPEND" -qmp unix:"$sock",server=on,wait=off >"$out/$name.qemu.log" 2>&1 &
  qpid=$!
  local ready=0
  for _ in $(seq 360); do grep -q 'GUEST: READY' "$out/$name.console.log" 2>/dev/null && { ready=1; break; }; sleep 0.5; done
  [ $ready = 1 ] || { echo "guest did not boot (see $out/$name.console.log)" >&2; quit_guest; exit 1; }
  "$QMP" "$sock" '{"execute":"stop"}' >/dev/null
}

kernel_dumps() {
  fetch_kernel
  boot_kernel_guest lk "$Q72"
  dump "$sock" elf "$out/lk.elf"
  dump "$sock" kdump-zlib "$out/lk.kdump-zlib.flat"
  quit_guest
  # the same kernel and initrd under QEMU 10: ELF, flattened and raw kdump-zlib of one stopped state
  boot_kernel_guest q10-lk q10
  dump "$sock" elf "$out/q10-lk.elf"
  dump "$sock" kdump-zlib "$out/q10-lk.kdump-zlib.flat"
  dump "$sock" kdump-raw-zlib "$out/q10-lk.kdump-raw-zlib"
  quit_guest
  move_program_headers "$out/lk.elf" "$out/lk.fixed.elf"
  makedumpfile_set "$out/lk.fixed.elf" mdf 31
}

move_program_headers() {  # IN OUT
  # makedumpfile <= 1.7.x expects the program headers right after the ELF header; QEMU puts its section
  # headers (for e_phnum overflow) there. Move the program headers to offset 64, drop the section headers.
  /usr/bin/python3 - "$1" "$2" <<'PY'
import shutil, struct, sys
src, dst = sys.argv[1], sys.argv[2]; shutil.copyfile(src, dst)
with open(dst, 'r+b') as f:
    eh = bytearray(f.read(64)); phoff, = struct.unpack_from('<Q', eh, 0x20); phentsize, phnum = struct.unpack_from('<HH', eh, 0x36)
    f.seek(phoff); ph = f.read(phentsize * phnum)
    first = min(struct.unpack_from('<Q', ph, i * phentsize + 8)[0] for i in range(phnum))
    struct.pack_into('<QQ', eh, 0x20, 64, 0); struct.pack_into('<H', eh, 0x34, 64); struct.pack_into('<HHH', eh, 0x3a, 0, 0, 0)
    f.seek(0); f.write(eh); f.write(ph); f.write(b'\0' * (first - 64 - len(ph)))
PY
}

makedumpfile_set() {  # ELF PREFIX DUMP_LEVEL: makedumpfile's formats from one ELF input
  local E=$1 p=$out/$2 d=$3
  rm -f "$p"-lzo-d$d "$p"-lzo-d$d.flat "$p"-elf-d$d.flat "$p"-split-d$d.1 "$p"-split-d$d.2 "$p"-zstd-d$d.flat
  timeout 120 $M172 -d "$d" -l "$E" "$p-lzo-d$d" >/dev/null 2>&1
  timeout 120 $M172 -F -d "$d" -l "$E" > "$p-lzo-d$d.flat" 2>/dev/null
  timeout 120 $M172 -F -E -d "$d" "$E" > "$p-elf-d$d.flat" 2>/dev/null
  timeout 120 $M172 --split -d "$d" -l "$E" "$p-split-d$d.1" "$p-split-d$d.2" >/dev/null 2>&1
  timeout 120 "$M176" -F -d "$d" -z "$E" > "$p-zstd-d$d.flat" 2>/dev/null
}

versions() {
  {
    echo "qemu 7.2: $($Q72 --version | head -1)"
    echo "qemu 10: $(q10 --version | head -1)"
    echo "makedumpfile: $($M172 -v 2>&1 | head -1)"
    echo "makedumpfile 1.7.6: $("$M176" -v 2>&1 | head -1)"
    [ -n "${VMLINUZ:-}" ] && echo "kernel: $(basename "$VMLINUZ")"
    dpkg-query -W qemu-system-x86 makedumpfile zlib1g liblzo2-2 libzstd1 2>/dev/null || true
  } > "$out/versions.txt"
}

[ -x "$Q10" ] && [ -x "$M176" ] || { echo "run scripts/fetch-extras.sh first (QEMU 10, makedumpfile 1.7.6)" >&2; exit 2; }
case $what in
  firmware) firmware_dumps ;;
  kernel) kernel_dumps ;;
  all) firmware_dumps; kernel_dumps ;;
  *) echo "unknown part: $what" >&2; exit 2 ;;
esac
versions
chmod 644 "$out"/* 2>/dev/null || true
(cd "$out" && sha256sum $(ls | grep -v -e '\.log$' -e '\.qmp$' -e '^SHA256SUMS$' -e '^versions.txt$') > SHA256SUMS)
ls -l "$out" | grep -v '\.log$'

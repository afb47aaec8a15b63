#!/usr/bin/env python3
"""Writes the two inputs of the memory measurements in docs/operators.md (issue 13, item 6).

  records.flat  a flattened file of N one-byte records at offsets 0, 1, ..., N-1 (QEMU-like order)
  notes.kdump   a raw kdump-compressed file (x86_64, 4 KiB pages, one dumped page) whose note area holds
                N empty ELF notes (namesz 0, descsz 0, n_type 1: 12 bytes each)

Usage: make-memory-inputs.py DIR [N]   (N defaults to 5,000,000)
"""
import os
import struct
import sys

PS = 4096


def flat_records(path, n):
    with open(path, "wb") as f:
        header = b"makedumpfile".ljust(16, b"\0") + struct.pack(">qq", 1, 1)
        f.write(header.ljust(PS, b"\0"))
        step = 100_000
        for first in range(0, n, step):
            chunk = bytearray()
            for offset in range(first, min(n, first + step)):
                chunk += struct.pack(">qq", offset, 1) + b"\x5a"
            f.write(chunk)
        f.write(b"\xff" * 16)


def kdump_notes(path, n):
    sub_header_size = 104
    size_note = 12 * n
    sub_hdr_blocks = -(-(sub_header_size + size_note) // PS)
    max_mapnr = 8
    bitmap_blocks = 2
    header = bytearray(PS)
    header[0:8] = b"KDUMP   "
    struct.pack_into("<i", header, 8, 6)
    header[272:278] = b"x86_64"
    struct.pack_into("<IiiII", header, 424, 0, PS, sub_hdr_blocks, bitmap_blocks, max_mapnr)
    struct.pack_into("<i", header, 460, 1)
    sub = bytearray(sub_header_size)
    struct.pack_into("<Qii", sub, 0, 0, 1, 0)
    struct.pack_into("<QQ", sub, 48, PS + sub_header_size, size_note)
    struct.pack_into("<Q", sub, 96, max_mapnr)
    bitmaps_at = (1 + sub_hdr_blocks) * PS
    descriptors_at = bitmaps_at + bitmap_blocks * PS
    with open(path, "wb") as f:
        f.write(header)
        f.write(sub)
        note = struct.pack("<III", 0, 0, 1)
        step = 1_000_000
        for first in range(0, n, step):
            f.write(note * (min(n, first + step) - first))
        f.write(b"\0" * (bitmaps_at - f.tell()))
        bitmap = b"\x01".ljust(PS, b"\0")
        f.write(bitmap + bitmap)
        f.write(struct.pack("<qIIQ", descriptors_at + 24, PS, 0, 0))
        f.write(b"\x5a" * PS)


def main():
    directory = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 5_000_000
    os.makedirs(directory, exist_ok=True)
    flat_records(os.path.join(directory, "records.flat"), n)
    kdump_notes(os.path.join(directory, "notes.kdump"), n)


if __name__ == "__main__":
    main()

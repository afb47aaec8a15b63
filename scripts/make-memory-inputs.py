#!/usr/bin/env python3
"""Writes the inputs of the memory measurements in docs/operators.md and docs/commands.md (issue 13,
item 6).

  records.flat             N one-byte records at offsets 0, 1, ..., N-1 (QEMU-like order)
  records-descending.flat  N one-byte records at offsets N-1, N-2, ..., 0
  records-jumpback.flat    N/5 one-byte records ascending, every 200th written 100 bytes back (overwrites)
  records-random.flat      N/5 records: one byte at 0, then random sizes (1-64 bytes) at random offsets
                           below 2^30 (seed 1)
  notes.kdump              a raw kdump-compressed file (x86_64, 4 KiB pages, one dumped page) whose note
                           area holds N empty ELF notes (namesz 0, descsz 0, n_type 1: 12 bytes each)

Usage: make-memory-inputs.py DIR [N]   (N defaults to 5,000,000)
"""
import os
import random
import struct
import sys

PS = 4096


def write_flat(path, records):
    """A flattened file of `records`, an iterable of (offset, size); payload bytes 0x5a."""
    with open(path, "wb") as f:
        header = b"makedumpfile".ljust(16, b"\0") + struct.pack(">qq", 1, 1)
        f.write(header.ljust(PS, b"\0"))
        chunk = bytearray()
        for offset, size in records:
            chunk += struct.pack(">qq", offset, size) + b"\x5a" * size
            if len(chunk) >= 1 << 22:
                f.write(chunk)
                chunk = bytearray()
        f.write(chunk)
        f.write(b"\xff" * 16)


def jumpback(n):
    cursor = 0
    for i in range(n):
        if i % 200 == 199:
            yield cursor - 100, 1
        else:
            yield cursor, 1
            cursor += 1


def random_records(n):
    rng = random.Random(1)
    yield 0, 1  # offset 0 written (F16)
    for _ in range(n - 1):
        yield rng.randrange(1 << 30), rng.randint(1, 64)


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
    write_flat(os.path.join(directory, "records.flat"), ((o, 1) for o in range(n)))
    write_flat(os.path.join(directory, "records-descending.flat"), ((o, 1) for o in reversed(range(n))))
    write_flat(os.path.join(directory, "records-jumpback.flat"), jumpback(n // 5))
    write_flat(os.path.join(directory, "records-random.flat"), random_records(n // 5))
    kdump_notes(os.path.join(directory, "notes.kdump"), n)


if __name__ == "__main__":
    main()

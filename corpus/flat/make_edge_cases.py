#!/usr/bin/python3
"""Writes the small hand-made flattened streams of this directory (deterministic; run from here).

Each file breaks one invariant of docs/FORMATS.md section 1 (or is a valid corner case); names say which."""
import struct

def header(sig=b"makedumpfile\0\0\0\0", typ=1, version=1, junk_at=None):
    h = bytearray(4096)
    h[:16] = sig
    h[16:24] = struct.pack(">q", typ)
    h[24:32] = struct.pack(">q", version)
    if junk_at is not None:
        h[junk_at] = 0x5A
    return bytes(h)

def rec(offset, size, payload=None):
    if payload is None:
        payload = bytes((offset + i) & 0xFF for i in range(max(size, 0)))
    return struct.pack(">qq", offset, size) + payload

END = b"\xff" * 16
H = header()
cases = {
    "valid-one-record": H + rec(0, 64) + END,
    "valid-overlap-backward": H + rec(8192, 300) + rec(0, 100) + rec(50, 8200) + rec(60, 4) + END,
    "valid-offset-past-4g": H + rec(0, 8) + rec(1 << 32, 32) + END,
    "f1-short": H[:100],
    "f2-signature": header(sig=b"makedumpfilX\0\0\0\0") + rec(0, 8) + END,
    "f3-signature-junk": header(sig=b"makedumpfile\0ab\x01") + rec(0, 8) + END,
    "f4-type": header(typ=2) + rec(0, 8) + END,
    "f5-version": header(version=7) + rec(0, 8) + END,
    "f6-reserved-junk": header(junk_at=1000) + rec(0, 8) + END,
    "f7-truncated-payload": H + rec(0, 4096)[:16 + 100],
    "f7-truncated-header": H + rec(0, 8) + END[:5],
    "f7-no-end-marker": H + rec(0, 8),
    "f7-size-2pow62": H + struct.pack(">qq", 0, 1 << 62) + b"abc",
    "f8-negative-offset": H + rec(0, 8) + struct.pack(">qq", -4096, 4) + b"abcd" + END,
    "f9-zero-size-second": H + rec(0, 8) + struct.pack(">qq", 8, 0) + END,
    "f9-zero-size-first": H + struct.pack(">qq", 5, 0) + rec(0, 8) + END,
    "f10-overflow": H + rec(0, 8) + struct.pack(">qq", (1 << 63) - 2, 2) + b"xx" + END,
    "f11-bad-end-marker": H + rec(0, 8) + struct.pack(">qq", -1, 0),
    "f12-trailing": H + rec(0, 8) + END + b"trailing",
    "f13-no-record": H + END,
    "f16-offset-0-unwritten": H + rec(4096, 8) + END,
    "f17-size-2pow31": H + struct.pack(">qq", 0, 1 << 31) + b"\0" * 64,
}
for name, data in cases.items():
    with open(name + ".flat", "wb") as f:
        f.write(data)

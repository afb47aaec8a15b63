#!/usr/bin/python3
"""Reads every page of a kdump-compressed file with libkdumpfile and prints one line per pfn.

usage: kdumpfile_pages.py FILE [FIRST_PFN [END_PFN]]
Output: a header line "max_pfn=N page_size=N", then for every pfn that libkdumpfile's file pagemap says
is stored in the file: "PFN D CRC" (hex pfn, zlib CRC-32 of the page bytes read through KDUMP_MACHPHYSADDR),
"PFN N" if the read says no data, "PFN X message" for any other error. Pfns not listed are not stored. Exits 3 if libkdumpfile is not installed: the
Rust test that runs this script must fail then, not skip.
"""
import zlib
import sys

try:
    import kdumpfile
except ImportError as e:  # the caller turns this into a test failure
    print(f"libkdumpfile (python3-libkdumpfile) is not installed: {e}", file=sys.stderr)
    sys.exit(3)


def main():
    path = sys.argv[1]
    k = kdumpfile.kdumpfile(path)
    max_pfn = int(k.attr["max_pfn"])
    page_size = int(k.attr["arch.page_size"])
    first = int(sys.argv[2], 0) if len(sys.argv) > 2 else 0
    end = int(sys.argv[3], 0) if len(sys.argv) > 3 else max_pfn
    out = [f"max_pfn={max_pfn} page_size={page_size}"]
    stored = k.attr["file.pagemap"]
    end = min(end, max_pfn)
    pfn = first
    while pfn < end:
        try:
            pfn = stored.find_set(pfn)
        except kdumpfile.exceptions.NoDataException:
            break
        if pfn >= end:
            break
        run_end = min(stored.find_clear(pfn), end)
        for p in range(pfn, run_end):
            out.append(read_one(k, p, page_size))
        pfn = run_end
    sys.stdout.write("\n".join(out) + "\n")


def read_one(k, pfn, page_size):
    try:
        data = k.read(kdumpfile.KDUMP_MACHPHYSADDR, pfn * page_size, page_size)
        return f"{pfn:x} D {zlib.crc32(data):08x}"
    except kdumpfile.exceptions.NoDataException:
        return f"{pfn:x} N"
    except Exception as e:  # noqa: BLE001 - every other failure is reported per pfn
        return f"{pfn:x} X {type(e).__name__}: {e}"


main()

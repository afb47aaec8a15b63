#!/usr/bin/python3
"""Oracle: what libkdumpfile (python3-libkdumpfile, Debian 12: 0.5.1) reads from a kdump-compressed dump.

usage: libkdumpfile_pages.py DUMP [DUMP ...]

Several DUMPs are read as one --split set: a page is taken from the first file that has data for it
(libkdumpfile 0.5.1 reads one file of a set alone and reports the other files' pages as excluded; setting
`file.set.number` on an open dump crashes it). libkdumpfile 0.5.1 cannot open flattened files: reassemble
them first.

Prints one JSON object:
  files, format (file.format), page_size, max_pfn, arch (arch.name or null), phys_base,
  osrelease (VMCOREINFO OSRELEASE or null), cpus (cpu.number or null),
  pagemap: [[first_pfn, end_pfn], ...]  runs of set bits of memory.pagemap (union over the files),
  pages: [[pfn, sha256 hex | null], ...] for every pfn of the pagemap, ascending; null = NoDataException
         (libkdumpfile says the page is excluded),
  outside: [[pfn, sha256 hex | null], ...] reads of the first and last pfn of every gap between pagemap
         runs (and after the last run, below max_pfn): normally all null.
Exit status 2 if a file cannot be opened.  Must run with /usr/bin/python3 (the binding lives there)."""
import hashlib
import json
import sys

import kdumpfile
from kdumpfile.exceptions import NoDataException


def attr(k, name):
    try:
        value = k.attr[name]
    except (KeyError, Exception):
        return None
    return value if isinstance(value, (int, str)) else None


def runs_of(bitmap, max_pfn):
    runs, pfn = [], 0
    while pfn < max_pfn:
        try:
            start = bitmap.find_set(pfn)
        except Exception:
            break
        if start >= max_pfn:
            break
        try:
            end = min(bitmap.find_clear(start), max_pfn)
        except Exception:
            end = max_pfn
        runs.append([start, end])
        pfn = end
    return runs


def merge(runs):
    out = []
    for start, end in sorted(runs):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return out


def read_page(dumps, pfn, page_size):
    for k in dumps:
        try:
            data = k.read(kdumpfile.KDUMP_MACHPHYSADDR, pfn * page_size, page_size)
        except NoDataException:
            continue
        return hashlib.sha256(data).hexdigest()
    return None


def main():
    paths = sys.argv[1:]
    if not paths:
        sys.exit(__doc__)
    try:
        dumps = [kdumpfile.kdumpfile(p) for p in paths]
    except Exception as e:  # noqa: BLE001 - any failure to open is reported the same way
        print("cannot open: %s" % e, file=sys.stderr)
        sys.exit(2)
    first = dumps[0]
    page_size = first.attr["arch.page_size"]
    max_pfn = first.attr["max_pfn"]
    pagemap = merge([r for k in dumps for r in runs_of(k.attr["memory.pagemap"], max_pfn)])
    pages = [[pfn, read_page(dumps, pfn, page_size)] for start, end in pagemap for pfn in range(start, end)]
    gaps, prev = [], 0
    for start, end in pagemap + [[max_pfn, max_pfn]]:
        if start > prev:
            gaps.append((prev, start))
        prev = end
    outside = []
    for start, end in gaps:
        for pfn in sorted({start, end - 1}):
            outside.append([pfn, read_page(dumps, pfn, page_size)])
    json.dump({
        "files": paths,
        "format": attr(first, "file.format"),
        "page_size": page_size,
        "max_pfn": max_pfn,
        "arch": attr(first, "arch.name"),
        "phys_base": attr(first, "linux.phys_base"),
        "osrelease": attr(first, "linux.vmcoreinfo.lines.OSRELEASE"),
        "cpus": attr(first, "cpu.number"),
        "pagemap": pagemap,
        "pages": pages,
        "outside": outside,
    }, sys.stdout, separators=(",", ":"))
    print()


main()

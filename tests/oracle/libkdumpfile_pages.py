#!/usr/bin/python3
"""Oracle: what libkdumpfile (python3-libkdumpfile, Debian 12: 0.5.1) reads from a kdump-compressed dump.

usage: libkdumpfile_pages.py [--pagemap memory|file] [--every-pfn-below N] DUMP [DUMP ...]

  --pagemap memory   (default) the page map is `memory.pagemap`: the pfns libkdumpfile says are in memory
  --pagemap file     the page map is `file.pagemap`: the pfns stored in the file(s)
  --every-pfn-below N  read every pfn in [0, N) instead of only the pfns of the page map

Several DUMPs are read as one --split set: a page is taken from the first file that has data for it
(libkdumpfile 0.5.1 reads one file of a set alone and reports the other files' pages as excluded; setting
`file.set.number` on an open dump crashes it). libkdumpfile 0.5.1 cannot open flattened files: reassemble
them first.

Prints one JSON object:
  files, format (file.format), page_size, max_pfn, arch (arch.name or null), phys_base,
  osrelease (VMCOREINFO OSRELEASE or null), cpus (cpu.number or null),
  pagemap: [[first_pfn, end_pfn], ...]  runs of set bits of the page map (union over the files),
  pages: [[pfn, sha256 hex | null], ...] for every pfn of the page map (or every pfn below N), ascending;
         null = NoDataException (libkdumpfile says the page is excluded or absent),
  outside: [[pfn, sha256 hex | null], ...] reads of the first and last pfn of every gap between page map
         runs (and after the last run, below max_pfn): normally all null.
Pages are read through KDUMP_MACHPHYSADDR, arch.page_size bytes each. Any read error other than
NoDataException stops the script with exit status 1 and names the pfn. Exit status 2 if a file cannot be
opened, 3 if libkdumpfile is not installed (the Rust tests that run this script FAIL then, not skip).
Must run with /usr/bin/python3 (the binding lives there)."""
import argparse
import hashlib
import json
import sys

try:
    import kdumpfile
    from kdumpfile.exceptions import NoDataException
except ImportError as e:
    print(f"libkdumpfile (python3-libkdumpfile) is not installed: {e}", file=sys.stderr)
    sys.exit(3)


def attr(k, name):
    try:
        value = k.attr[name]
    except Exception:  # noqa: BLE001 - an attribute libkdumpfile does not know is reported as null
        return None
    return value if isinstance(value, (int, str)) else None


def runs_of(bitmap, max_pfn):
    runs, pfn = [], 0
    while pfn < max_pfn:
        try:
            start = bitmap.find_set(pfn)
        except Exception:  # noqa: BLE001 - no further set bit
            break
        if start >= max_pfn:
            break
        try:
            end = min(bitmap.find_clear(start), max_pfn)
        except Exception:  # noqa: BLE001 - set up to the end
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
        except Exception as e:  # noqa: BLE001 - any other failure fails the caller's test
            sys.exit(f"pfn {pfn:#x}: libkdumpfile read error {type(e).__name__}: {e}")
        return hashlib.sha256(data).hexdigest()
    return None


def parse_args():
    parser = argparse.ArgumentParser(usage=__doc__.splitlines()[2].removeprefix("usage: "))
    parser.add_argument("--pagemap", choices=["memory", "file"], default="memory")
    parser.add_argument("--every-pfn-below", type=int, metavar="N")
    parser.add_argument("dumps", nargs="+", metavar="DUMP")
    return parser.parse_args()


def main():
    args = parse_args()
    try:
        dumps = [kdumpfile.kdumpfile(p) for p in args.dumps]
    except Exception as e:  # noqa: BLE001 - any failure to open is reported the same way
        print("cannot open: %s" % e, file=sys.stderr)
        sys.exit(2)
    first = dumps[0]
    page_size = first.attr["arch.page_size"]
    max_pfn = first.attr["max_pfn"]
    bitmap = args.pagemap + ".pagemap"
    pagemap = merge([r for k in dumps for r in runs_of(k.attr[bitmap], max_pfn)])
    if args.every_pfn_below is None:
        pfns = (pfn for start, end in pagemap for pfn in range(start, end))
    else:
        pfns = range(args.every_pfn_below)
    pages = [[pfn, read_page(dumps, pfn, page_size)] for pfn in pfns]
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
        "files": args.dumps,
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

#!/usr/bin/python3
"""Reads every pfn below MAX_PFN of a kdump file with libkdumpfile and prints one line per pfn:
"<pfn> data <hex>" or "<pfn> nodata". Used by tests/model_real_readers.rs (run with /usr/bin/python3)."""
import sys

import kdumpfile

path, page_size, max_pfn = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
k = kdumpfile.kdumpfile(path)
out = sys.stdout
out.write("max_pfn %d page_size %d\n" % (k.attr["max_pfn"], k.attr["arch.page_size"]))
for pfn in range(max_pfn):
    try:
        data = k.read(kdumpfile.KDUMP_MACHPHYSADDR, pfn * page_size, page_size)
        out.write("%d data %s\n" % (pfn, bytes(data).hex()))
    except kdumpfile.exceptions.NoDataException:
        out.write("%d nodata\n" % pfn)

"""drgn oracle: open an ELF vmcore with drgn (PyPI, in the venv of scripts/install-test-tools.sh) and read
guest-physical pages. Reads "PFN" lines (decimal) from stdin; prints "PFN SHA256" per page, or
"PFN ERR <exception>" when drgn cannot read it. First line: "OPEN <program flags>".
usage: drgn_pages.py ELF PAGE_SIZE < pfns"""
import hashlib
import sys

import drgn

path, page_size = sys.argv[1], int(sys.argv[2])
prog = drgn.Program()
prog.set_core_dump(path)
print("OPEN", prog.flags)
for line in sys.stdin:
    pfn = int(line)
    try:
        data = prog.read(pfn * page_size, page_size, True)
        print(pfn, hashlib.sha256(data).hexdigest())
    except Exception as e:  # FaultError for an address no segment holds
        print(pfn, "ERR", type(e).__name__)

#!/usr/bin/env python3
"""Checks that named tests kill named mutants, one mutant at a time (MUTANTS.md: "verified by applying").

Usage, in a copy of the tree (it patches src/ and patches back):
    python3 scripts/apply-mutants.py LIST
LIST has one line per mutant: `MUTANT NAME|TEST FILTER [TEST FILTER ...]`, the name exactly as
`cargo mutants --list` prints it. A filter whose first path segment is a module of the library
(flat, kdump, model, from_elf, compress, sink, readat), or that has no `::`, runs the unit tests
(`cargo test --lib`); any other runs the integration binary (`cargo test --test all`). A whole
integration module is `module::` with the trailing `::`.
Prints `NAME|caught|...` when some filter's tests fail with the mutant applied, else `NAME|missed|...`.
"""
import json
import subprocess
import sys

LIB_MODULES = ("flat", "kdump", "model", "from_elf", "compress", "sink", "readat")


def cargo_target(test_filter):
    """The cargo test target a filter names: the unit tests or the integration binary."""
    if "::" not in test_filter or test_filter.split("::")[0] in LIB_MODULES:
        return ["--lib"]
    return ["--test", "all"]


def main():
    rows = [line.rstrip("\n").rsplit("|", 1) for line in open(sys.argv[1]) if line.strip()]
    listing = subprocess.run(
        ["cargo", "mutants", "--list", "--json", "--diff"],
        capture_output=True, text=True, check=True,
    ).stdout
    mutants = {m["name"]: m for m in json.loads(listing)}
    for name, filters in rows:
        mutant = mutants.get(name)
        if mutant is None:
            print(f"{name}|not-in-list", flush=True)
            continue
        subprocess.run(["patch", "-s", mutant["file"]], input=mutant["diff"], text=True, check=True)
        try:
            results = []
            for test_filter in filters.split():
                run = subprocess.run(
                    ["timeout", "600", "cargo", "test", *cargo_target(test_filter), "--", test_filter],
                    capture_output=True, text=True,
                )
                summary = [l for l in run.stdout.splitlines() if l.startswith("test result")]
                outcome = "fail" if run.returncode else "pass"
                results.append(f"{test_filter}:{outcome}:{summary[-1] if summary else run.stderr[-300:]}")
            caught = any(":fail:" in r for r in results)
            print(f"{name}|{'caught' if caught else 'missed'}|{' ; '.join(results)}", flush=True)
        finally:
            subprocess.run(["patch", "-R", "-s", mutant["file"]], input=mutant["diff"], text=True, check=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Compares the names of the Rust tests of two revisions, so that a re-housing can show that every
test still passes under its own name.

Usage: tools/arch/test_names.py OLD [NEW]   (NEW defaults to HEAD)

Reads each revision's tracked `.rs` files from git (nothing is built) and collects the functions
marked `#[test]` or `#[tokio::test(...)]` and those inside `proptest!` blocks. Prints both counts
and the names only one side has; exits 1 when a name of OLD is gone from NEW.
"""

import re
import subprocess
import sys

TEST = re.compile(r"#\[(?:tokio::)?test(?:\([^)]*\))?\]\s*(?:#\[[^\]]*\]\s*)*(?:async\s+)?fn\s+(\w+)")
PROPTEST = re.compile(r"proptest!\s*\{(.*?)\n\}", re.S)


def git(*args):
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def names(rev):
    found = set()
    for path in git("ls-tree", "-r", "--name-only", rev).split():
        if not path.endswith(".rs"):
            continue
        source = git("show", f"{rev}:{path}")
        found.update(m.group(1) for m in TEST.finditer(source))
        for block in PROPTEST.finditer(source):
            found.update(re.findall(r"fn\s+(\w+)\s*\(", block.group(1)))
    return found


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        sys.exit(64)
    old, new = sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "HEAD"
    before, after = names(old), names(new)
    print(f"tests: {old} {len(before)}, {new} {len(after)}")
    for name in sorted(before - after):
        print(f"gone: {name}")
    for name in sorted(after - before):
        print(f"new:  {name}")
    sys.exit(1 if before - after else 0)


if __name__ == "__main__":
    main()

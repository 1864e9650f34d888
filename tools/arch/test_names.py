#!/usr/bin/env python3
"""Compares the names of the Rust tests of two revisions, so that a re-housing can show that every
test still passes under its own name.

Usage: tools/arch/test_names.py OLD [NEW]   (NEW defaults to HEAD)

Reads each revision's tracked `.rs` files from git (nothing is built) and counts the functions
marked `#[test]` or `#[tokio::test(...)]` and those of `proptest!` blocks, by name (a name used by
two tests counts twice). Prints both totals and the names one side has more of; exits 1 when a
test of OLD is gone from NEW.
"""

import re
import subprocess
import sys
from collections import Counter

TEST = re.compile(r"#\[(?:tokio::)?test(?:\([^)]*\))?\]\s*(?:#\[[^\]]*\]\s*)*(?:async\s+)?fn\s+(\w+)")
# A block ends at the closing brace indented as its `proptest!` line.
PROPTEST = re.compile(r"^([ \t]*)proptest!\s*\{(.*?)^\1\}", re.S | re.M)


def git(*args):
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout


def names(rev):
    found = Counter()
    for path in git("ls-tree", "-r", "--name-only", rev).split():
        if not path.endswith(".rs"):
            continue
        source = git("show", f"{rev}:{path}")
        found.update(m.group(1) for m in TEST.finditer(source))
        for block in PROPTEST.finditer(source):
            found.update(re.findall(r"fn\s+(\w+)\s*\(", block.group(2)))
    return found


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__.strip().splitlines()[3], file=sys.stderr)
        sys.exit(64)
    old, new = sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "HEAD"
    before, after = names(old), names(new)
    print(f"tests: {old} {sum(before.values())}, {new} {sum(after.values())}")
    gone, new_ones = before - after, after - before
    for name, n in sorted(gone.items()):
        print(f"gone: {name}" + (f" ({n} of them)" if n > 1 else ""))
    for name, n in sorted(new_ones.items()):
        print(f"new:  {name}" + (f" ({n} of them)" if n > 1 else ""))
    sys.exit(1 if gone else 0)


if __name__ == "__main__":
    main()

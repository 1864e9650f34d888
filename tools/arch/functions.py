#!/usr/bin/env python3
"""Counts the workspace's non-test Rust functions by length, and lists the longest.

Usage: tools/arch/functions.py [--over N] [--max-over-100 A] [--max-over-60 B]

A function's length is the number of lines from its `fn` line to its closing brace. Test code is
left out: files under a `tests/` or `benches/` folder, `#[cfg(test)]` modules and `#[test]`
functions. Generated code (`target/`) and the fuzz workspace are not ours to shorten, and the
migrations `migrations/src/mNNNN_*.rs` are frozen (an applied migration is never edited): all are
skipped. With `--max-over-100` or `--max-over-60` it exits 1 when a count is above its bound
(`make lint` passes today's counts, so that no function grows past them unnoticed); without them
it only prints.
"""

import argparse
import os
import re
import sys

SKIP_DIRS = {"target", ".git", "fuzz", "node_modules", "tests", "benches"}
FN = re.compile(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)")


def strip(text):
    """The source with comments, strings and character literals blanked (newlines kept), so that
    braces and `fn` are found only in code."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 260]) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = text.find('"' + hashes, i + 2 + len(hashes))
            end = n if end < 0 else end + 1 + len(hashes)
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(re.sub(r"[^\n]", " ", text[i:j + 1]))
            i = j + 1
        elif c == "'":
            # A character literal ('a', '\n', '\u{..}', '{'), not a lifetime ('a without a close).
            m = re.match(r"'(\\u\{[0-9A-Fa-f]+\}|\\.|[^\\'])'", text[i:i + 12])
            if m:
                out.append(" " * len(m.group(0)))
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def close_of(code, start):
    """The index of the brace that closes the one at `start`."""
    depth = 0
    for j in range(start, len(code)):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(code) - 1


def test_spans(code):
    """Byte ranges of `#[cfg(test)]` items and `#[test]` functions."""
    spans = []
    for m in re.finditer(r"#\[\s*(cfg\s*\(\s*test\s*\)|test|tokio::test[^\]]*)\s*\]", code):
        brace = code.find("{", m.end())
        semi = code.find(";", m.end())
        if brace < 0 or (0 <= semi < brace):
            continue
        spans.append((m.start(), close_of(code, brace)))
    return spans


def functions(path):
    text = open(path, encoding="utf-8").read()
    code = strip(text)
    tests = test_spans(code)
    found = []
    for m in FN.finditer(code):
        if any(a <= m.start() <= b for a, b in tests):
            continue
        # The body's brace: the first `{` after the signature, unless a `;` ends it first (a
        # declaration in a trait or an extern block).
        depth, j = 0, m.end()
        while j < len(code):
            ch = code[j]
            if ch in "(<[":
                depth += 1
            elif ch in ")>]":
                depth -= 1 if code[j - 1] != "-" or ch != ">" else 0
            elif ch == ";" and depth <= 0:
                j = -1
                break
            elif ch == "{" and depth <= 0:
                break
            j += 1
        if j < 0 or j >= len(code):
            continue
        end = close_of(code, j)
        first = code.count("\n", 0, m.start()) + 1
        last = code.count("\n", 0, end) + 1
        found.append((last - first + 1, path, first, m.group(1)))
    return found


FROZEN = re.compile(r"migrations/src/m\d{4}_[^/]*\.rs$")


def sources(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if name.endswith(".rs") and not FROZEN.search(path.replace(os.sep, "/")):
                yield path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--over", type=int, default=60, help="list the functions longer than this")
    parser.add_argument("--max-over-100", type=int, help="fail when more functions are over 100 lines")
    parser.add_argument("--max-over-60", type=int, help="fail when more functions are over 60 lines")
    args = parser.parse_args()
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    found = []
    for path in sources(root):
        found.extend(functions(path))
    found.sort(key=lambda f: (-f[0], f[1], f[2]))
    for lines, path, line, name in found:
        if lines > args.over:
            print(f"{lines:5} {os.path.relpath(path, root)}:{line} {name}")
    over_100 = sum(1 for f in found if f[0] > 100)
    over_60 = sum(1 for f in found if f[0] > 60)
    print(f"functions: {len(found)} non-test; {over_100} over 100 lines, {over_60} over 60 lines")
    failed = []
    if args.max_over_100 is not None and over_100 > args.max_over_100:
        failed.append(f"{over_100} functions over 100 lines (at most {args.max_over_100})")
    if args.max_over_60 is not None and over_60 > args.max_over_60:
        failed.append(f"{over_60} functions over 60 lines (at most {args.max_over_60})")
    for line in failed:
        print(f"functions: {line}", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

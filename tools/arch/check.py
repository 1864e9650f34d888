#!/usr/bin/env python3
"""The dependency rules of ARCHITECTURE.md ("Invariants"), checked from cargo's own view of the
workspace and from the `use` paths of the source. Run by `make lint`; exits 1 and names every
broken rule.

- No service crate depends on another service crate (the all-in-one `services-maturity`, the
  load generator and the end-to-end tests put them together and are exempt).
- Nothing under `domain/`, and not the store, depends on tonic or prost, directly or not.
- Only the store and the migrations depend on sea-orm or sqlx (directly).
- Nothing under `domain/` depends on another crate of ours outside `domain/`.
- The floors: `domain/`; then `runtime/`, `store/`, `migrations/`; then `report-gen/`; then
  `services/`; then `tools/` and `tests/`. A crate depends only on crates of its own floor or lower
  ones (dependencies proper; a test may use anything). The fuzz targets are a workspace of their
  own on top, and not read here.
- `report-gen` reaches no `services-*` crate, directly or not (`cargo tree`).
- No crate and no tracked folder is named for nothing in particular (`common`, `utils`, ...).
- No two source files of a crate import each other, directly or around a circle. A file's imports
  are the `crate::`, `super::` and child-module paths it names outside its `#[cfg(test)]` module;
  a name a module re-exports counts as an import of the file that defines it, and a re-export
  (`pub use`) is an import only where the file itself uses the name: otherwise it publishes and
  takes nothing. A method called on a type whose `impl` is spread over files is not an import.
"""

import json
import os
import re
import subprocess
import sys

SERVICES = {"services-persistence", "services-questionnaire", "services-report", "services-scoring", "services-webhooks"}
WIRE = {"tonic", "prost", "prost-types", "tonic-prost", "tonic-types"}
SQL = {"sea-orm", "sea-orm-migration", "sqlx"}
SQL_OWNERS = {"store", "migrations"}
FLOORS = [("domain/", 1), ("runtime/", 2), ("store/", 2), ("migrations/", 2), ("report-gen/", 3),
          ("services/", 4), ("tools/", 5), ("tests/", 5)]
VAGUE = {"common", "utils", "util", "misc", "helpers", "shared", "stuff"}
PUB_USE = re.compile(r"\bpub(?:\([a-z]+\))?\s+use\s+([^;]+);")
MOD = re.compile(r"\b(?:pub(?:\([a-z]+\))?\s+)?mod\s+\w+\s*;")
DEFINITION = re.compile(r"\b(?:struct|enum|fn|type|trait|const|static|mod|union)\s+([A-Za-z_][A-Za-z0-9_]*)")


def cargo(*args):
    return subprocess.run(["cargo", *args], check=True, capture_output=True, text=True).stdout


def floor(root, manifest):
    rel = os.path.relpath(os.path.dirname(manifest), root) + "/"
    return next((f for prefix, f in FLOORS if rel.startswith(prefix)), 0)


def reached(name):
    tree = cargo("tree", "--offline", "-p", name, "-e", "normal", "--prefix", "none", "--format", "{p}")
    return {line.split(" ")[0] for line in tree.splitlines() if line.strip()}


def crate_rules(meta, root):
    ours = {p["name"]: p for p in meta["packages"]}
    domain_crates = {n for n, q in ours.items() if "/domain/" in q["manifest_path"]}
    problems = []
    for name, p in sorted(ours.items()):
        normal = {d["name"] for d in p["dependencies"] if d["kind"] in (None, "build")}
        domain = name in domain_crates
        if name in SERVICES:
            for other in sorted(normal & (SERVICES - {name})):
                problems.append(f"service crate {name} depends on service crate {other}")
        if name not in SQL_OWNERS:
            for dep in sorted(normal & SQL):
                problems.append(f"{name} depends on {dep}; only the store and the migrations speak SQL")
        if domain:
            for dep in sorted(normal & (set(ours) - domain_crates)):
                problems.append(f"domain crate {name} depends on {dep}, outside domain/")
        mine = floor(root, p["manifest_path"])
        for dep in sorted(normal & set(ours)):
            theirs = floor(root, ours[dep]["manifest_path"])
            if theirs > mine:
                problems.append(f"{name} (floor {mine}) depends on {dep}, a floor higher ({theirs})")
        if domain or name == "store":
            for dep in sorted(reached(name) & WIRE):
                problems.append(f"{name} reaches {dep}; the domain and the store know no wire types")
    for dep in sorted(d for d in reached("report-gen") if d.startswith("services-")):
        problems.append(f"report-gen reaches {dep}; the report generator uses no service crate")
    for name in sorted(ours):
        if set(name.split("-")) & VAGUE:
            problems.append(f"crate {name} is named for nothing in particular")
    return problems


def folder_rules(root):
    tracked = subprocess.run(["git", "-C", root, "ls-files"], check=True, capture_output=True, text=True).stdout
    folders = {os.path.dirname(path) for path in tracked.splitlines()}
    folders = {f for path in folders for f in prefixes(path)}
    return [f"folder {f} is named for nothing in particular" for f in sorted(folders)
            if os.path.basename(f).lower() in VAGUE]


def prefixes(path):
    """`a/b/c` and every folder above it."""
    parts = path.split("/") if path else []
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def module_of(src, path):
    """The module path of a source file (`[]` for the crate root)."""
    parts = os.path.relpath(path, src)[:-3].split(os.sep)
    if parts[-1] in ("lib", "main", "mod"):
        parts = parts[:-1]
    return tuple(parts)


def code_of(text):
    """The file's code without comments and without its test module."""
    text = re.sub(r"(^|\s)//[^\n]*", r"\1", text, flags=re.M)
    cut = re.search(r"#\[cfg\(test\)\]\s*(pub(\([a-z]+\))?\s+)?mod\s+tests\s*\{", text)
    return text[: cut.start()] if cut else text


def use_paths(code):
    """Every path the code names from `crate`, `super` or `self`, and every `use` path, with
    grouped imports (`use a::{b, c::d}`) spread out."""
    paths = []
    for m in re.finditer(r"\buse\s+([^;]+);", code):
        paths.extend(p.partition("@")[0] for p in spread(squeeze(m.group(1))))
    paths.extend(m.group(0) for m in re.finditer(r"\b(?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+", code))
    return paths


def spread(tree):
    if "{" not in tree:
        return [tree]
    head, rest = tree.split("{", 1)
    inner, depth, items, cur = rest[:-1] if rest.endswith("}") else rest, 0, [], ""
    for ch in inner:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    items.append(cur)
    return [p for item in items if item for p in spread(head + item)]


def file_circles(meta):
    problems = []
    for p in meta["packages"]:
        # A crate's source files: those below its library's root (or, without a library, its
        # binary's); a binary beside a library reaches the library by its name, as any crate does.
        roots = [t["src_path"] for t in p["targets"] if "lib" in t["kind"]] or \
                [t["src_path"] for t in p["targets"] if "bin" in t["kind"]]
        if not roots:
            continue
        src = os.path.dirname(roots[0])
        files = {(): roots[0]}
        for here, dirs, names in os.walk(src):
            dirs[:] = [d for d in dirs if d not in ("tests", "benches", "examples")]
            for n in names:
                path = os.path.join(here, n)
                if n.endswith(".rs") and n not in ("tests.rs", "lib.rs", "main.rs", "build.rs") or \
                        n == "mod.rs":
                    files.setdefault(module_of(src, path), path)
        codes = {m: code_of(open(f, encoding="utf-8").read()) for m, f in files.items()}
        defined = {m: set(DEFINITION.findall(code)) for m, code in codes.items()}
        # What each module re-exports: `pub use child::{A, B}` and `pub use child::*` make
        # `module::A` the child's.
        exported = {}
        for m, code in codes.items():
            for path, name in pub_uses(code):
                target = resolve(m, path, files, {})
                if target is None or target == m:
                    continue
                for n in (defined[target] if name == "*" else [name]):
                    exported.setdefault(m + (n,), target)
        edges = {m: set() for m in files}
        for m, code in codes.items():
            rest = MOD.sub("", PUB_USE.sub("", code))
            # A re-export publishes a name; it is an import too when the file itself uses the name.
            used = [path for path, name in pub_uses(code) if name != "*" and re.search(rf"\b{name}\b", rest)]
            for path in use_paths(rest) + used:
                target = resolve(m, path, files, exported)
                if target is not None and target != m:
                    edges[m].add(target)
        for circle in circles(edges):
            names = " -> ".join(os.path.relpath(files[m]) for m in circle + [circle[0]])
            problems.append(f"import circle in {p['name']}: {names}")
    return problems


def pub_uses(code):
    """What a file re-exports (`pub use`): each path as written, with the name it is known by
    (its alias, or its last segment; `*` for a glob)."""
    out = []
    for u in PUB_USE.finditer(code):
        for written in spread(squeeze(u.group(1))):
            path, _, alias = written.partition("@")
            out.append((path, alias or path.split("::")[-1]))
    return out


def squeeze(tree):
    """A use tree without white space, `x as y` written `x@y`."""
    return re.sub(r"\s+", "", re.sub(r"\s+as\s+", "@", tree))


def resolve(here, path, files, exported):
    """The module file that `path`, named in module `here`, takes something from; `None` when it
    names another crate."""
    parts = [x for x in path.split("::") if x and x != "*"]
    if not parts:
        return None
    if parts[0] == "crate":
        base, parts = (), parts[1:]
    elif parts[0] in ("super", "self"):
        base = here
        while parts and parts[0] in ("super", "self"):
            base = base[:-1] if parts[0] == "super" else base
            parts = parts[1:]
    elif here + (parts[0],) in files:
        base = here
    else:
        return None
    # The longest module prefix, then a re-exported name under it.
    module = base
    for x in parts:
        if module + (x,) in files:
            module = module + (x,)
        else:
            return exported.get(module + (x,), module)
    return module


def circles(edges):
    """The strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    meta = json.loads(cargo("metadata", "--format-version", "1", "--no-deps", "--offline"))
    problems = crate_rules(meta, root) + folder_rules(root) + file_circles(meta)
    for line in problems:
        print(f"architecture: {line}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"architecture: {len(meta['packages'])} crates keep the dependency rules; no import circle between files")


if __name__ == "__main__":
    main()

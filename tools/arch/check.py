#!/usr/bin/env python3
"""The dependency rules of ARCHITECTURE.md ("Invariants"), checked from cargo's own view of the
workspace. Run by `make lint`; exits 1 and names every broken rule.

- No service crate depends on another service crate (the all-in-one `services-maturity`, the
  load generator and the end-to-end tests put them together and are exempt).
- Nothing under `domain/`, and not the store, depends on tonic or prost, directly or not.
- Only the store and the migrations depend on sea-orm or sqlx (directly).
- Nothing under `domain/` depends on another crate of ours outside `domain/`.
"""

import json
import subprocess
import sys

SERVICES = {"services-persistence", "services-report", "services-scoring", "services-webhooks"}
WIRE = {"tonic", "prost", "prost-types", "tonic-prost", "tonic-types"}
SQL = {"sea-orm", "sea-orm-migration", "sqlx"}
SQL_OWNERS = {"store", "migrations"}


def cargo(*args):
    return subprocess.run(["cargo", *args], check=True, capture_output=True, text=True).stdout


def main():
    meta = json.loads(cargo("metadata", "--format-version", "1", "--no-deps", "--offline"))
    ours = {p["name"]: p for p in meta["packages"]}
    problems = []
    for name, p in sorted(ours.items()):
        normal = {d["name"] for d in p["dependencies"] if d["kind"] in (None, "build")}
        domain = "/domain/" in p["manifest_path"]
        if name in SERVICES:
            for other in sorted(normal & (SERVICES - {name})):
                problems.append(f"service crate {name} depends on service crate {other}")
        if name not in SQL_OWNERS:
            for dep in sorted(normal & SQL):
                problems.append(f"{name} depends on {dep}; only the store and the migrations speak SQL")
        if domain:
            for dep in sorted(normal & (set(ours) - {n for n, q in ours.items() if "/domain/" in q["manifest_path"]})):
                problems.append(f"domain crate {name} depends on {dep}, outside domain/")
        if domain or name == "store":
            tree = cargo("tree", "--offline", "-p", name, "-e", "normal", "--prefix", "none", "--format", "{p}")
            reached = {line.split(" ")[0] for line in tree.splitlines() if line.strip()}
            for dep in sorted(reached & WIRE):
                problems.append(f"{name} reaches {dep}; the domain and the store know no wire types")
    for line in problems:
        print(f"architecture: {line}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"architecture: {len(ours)} crates keep the dependency rules")


if __name__ == "__main__":
    main()

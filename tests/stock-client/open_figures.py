"""Open figures read back by a stock tool (pyarrow), against the real binaries.

`report-gen export` writes a year's published benchmark figures as CSV and as Parquet over a
database of synthetic demo peers; pyarrow reads both back, and every row must equal what the
server's `QueryBenchmark` (GET /v1/benchmarks) answers for the same group: level, firms, k,
synthetic share, every distribution's statistics, every stage share and every fit verdict's
share, to the last bit; the
server's own export (GET /v1/benchmarks:export) serves the same bytes. Groups
that are not published must not be in the export, and the server must answer them with a wider
published group. Usage: open_figures.py MATURITY REPORT_GEN
"""

import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

PASSED, FAILED = [], []
TEXT_COLUMNS = ["model_id", "level", "sbi_section", "size_class", "province", "measure", "statistic"]
STATISTICS = ["n", "mean", "sd", "p10", "p25", "p50", "p75", "p90"]


def check(name, ok, detail=""):
    (PASSED if ok else FAILED).append(name)
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + str(detail)[:2000]))
    return ok


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=300)


def query(http_base, key, group, year):
    params = {"year": str(year)}
    for field, name in (("sbi_section", "sbiSection"), ("size_class", "sizeClass"), ("province", "province")):
        if group[field]:
            params[f"group.{name}"] = group[field]
    request = urllib.request.Request(
        f"{http_base}/v1/benchmarks?{urllib.parse.urlencode(params)}", headers={"Authorization": f"Bearer {key}"}
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())


def expected_rows(answer, year, k, model):
    """The rows an export of this group must hold, from the server's answer."""
    used = answer["groupUsed"]
    group = used.get("group", {})
    base = (model["id"], model["version"], year, k, used["level"], group.get("sbiSection", ""),
            group.get("sizeClass", ""), group.get("province", ""), used["n"], float(used.get("syntheticShare", 0)))
    rows = []
    for d in answer.get("distributions", []):
        for s in STATISTICS:
            rows.append(base + (d["metric"], s, float(d.get(s, 0))))
    for shares in answer.get("stageShares", []):
        for stage, share in enumerate(shares["shares"]):
            rows.append(base + (f"{shares['axis']}_stage_{stage}", "share", float(share)))
    for fit in answer.get("fitVerdicts", []):
        verdict = fit["verdict"].removeprefix("FIT_VERDICT_").lower()
        rows.append(base + (f"fit_{verdict}", "share", float(fit.get("share", 0))))
    pay = answer.get("pay")
    if pay:
        cells = [("pay", pay["all"])]
        for c in pay.get("byVerdict", []):
            cells.append(("pay_fit_" + c["verdict"].removeprefix("FIT_VERDICT_").lower(), c["cell"]))
        for axis, key in (("external", "byExternalBand"), ("internal", "byInternalBand")):
            for c in pay.get(key, []):
                cells.append((f"pay_{axis}_stage_" + c["band"].replace("-", "_"), c["cell"]))
        for measure, cell in cells:
            if cell.get("withheld", False):
                continue  # a withheld cell has no rows
            answered = int(cell.get("answered", 0))
            rows.append(base + (measure, "answered", float(answered)))
            if answered > 0:
                rows.append(base + (measure, "cover_costs_share", float(cell.get("coverCostsShare", 0))))
                rows.append(base + (measure, "measured_share", float(cell.get("measuredShare", 0))))
    return rows


def main():
    maturity, report_gen = sys.argv[1], sys.argv[2]
    scratch = tempfile.mkdtemp(prefix="open-figures-")
    common = ["--database-url", f"sqlite://{scratch}/m.db?mode=rwc", "--pseudonym-key-file", f"{scratch}/key"]
    # report-gen reads the database only: the pseudonym key is the server's.
    database = common[:2]
    for args in (["seed-demo", *common, "--companies", "3000"],
                 ["admin", *common, "create-tenant", "analysts", "--name", "Sector analysts"]):
        done = run(maturity, *args)
        check(f"maturity {args[0]}", done.returncode == 0, done.stdout + done.stderr)
    issued = run(maturity, "admin", *common, "issue-key", "analysts", "--label", "open-figures")
    key = (issued.stdout.strip().splitlines() or [""])[-1]
    if not check("an API key is issued", issued.returncode == 0 and key.startswith("mk_"), issued.stdout + issued.stderr):
        sys.exit(1)

    server = subprocess.Popen(
        [maturity, "serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--admin-addr", "off",
         "--log-level", "warn", *common],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        server.stdout.readline()
        http_base = server.stdout.readline().split("listening on ", 1)[1].split()[0]
        national = query(http_base, key, {"sbi_section": "", "size_class": "", "province": ""}, 0)["groupUsed"]
        year, k, model = national["year"], national["k"], national["model"]
        model.setdefault("version", 0)

        paths = {f: os.path.join(scratch, f"figures.{f}") for f in ("csv", "parquet")}
        for fmt, path in paths.items():
            done = run(report_gen, "export", "--year", str(year), "--format", fmt, "--out", path, *database)
            check(f"report-gen export --format {fmt}", done.returncode == 0 and os.path.exists(path), done.stderr)
        dictionary_path = os.path.join(scratch, "dictionary.csv")
        done = run(report_gen, "export", "--format", "dictionary", "--out", dictionary_path)
        check("report-gen export --format dictionary", done.returncode == 0, done.stderr)

        text = {c: "string" for c in TEXT_COLUMNS}
        from_csv = pacsv.read_csv(
            paths["csv"], convert_options=pacsv.ConvertOptions(column_types=text, strings_can_be_null=False)
        )
        from_parquet = pq.read_table(paths["parquet"])
        dictionary = pacsv.read_csv(dictionary_path)
        columns = dictionary.column("column").to_pylist()
        check("both files have the dictionary's columns, in order",
              from_csv.column_names == columns and from_parquet.column_names == columns,
              (from_csv.column_names, from_parquet.column_names, columns))
        csv_rows = [tuple(r.values()) for r in from_csv.to_pylist()]
        parquet_rows = [tuple(r.values()) for r in from_parquet.to_pylist()]
        check("CSV and Parquet hold the same rows, bit for bit", csv_rows == parquet_rows and len(csv_rows) > 0,
              f"{len(csv_rows)} and {len(parquet_rows)} rows")
        metadata = {k.decode(): v.decode() for k, v in (from_parquet.schema.metadata or {}).items()}
        check("the Parquet file carries k, the model and the dictionary",
              metadata.get("k") == str(k) and metadata.get("model_id") == model["id"]
              and all(f"column.{c}.en" in metadata and f"column.{c}.nl" in metadata for c in columns), metadata)
        check("every row says its synthetic share (all demo data here)",
              all(r[9] == 1.0 for r in parquet_rows), {r[9] for r in parquet_rows})
        check("every group has at least k firms", all(r[8] >= k for r in parquet_rows), k)

        groups = {}
        for r in parquet_rows:
            groups.setdefault((r[5], r[6], r[7]), []).append(r)
        mismatches = []
        for (section, size, province), rows in groups.items():
            group = {"sbi_section": section, "size_class": size, "province": province}
            answer = query(http_base, key, group, year)
            if answer["groupUsed"].get("fallback"):
                mismatches.append(("fell back", group))
            elif expected_rows(answer, year, k, model) != rows:
                mismatches.append((group, expected_rows(answer, year, k, model)[:3], rows[:3]))
        check(f"all {len(groups)} exported groups equal QueryBenchmark's answers ({len(parquet_rows)} rows)",
              not mismatches and len(groups) > 5, mismatches[:3])
        fit_totals = {g: sum(r[12] for r in rows if r[10].startswith("fit_")) for g, rows in groups.items()}
        check("every exported group has fit verdict shares that add up to 1",
              all(abs(t - 1.0) < 1e-9 for t in fit_totals.values()),
              [(g, t) for g, t in fit_totals.items() if abs(t - 1.0) >= 1e-9][:3])

        # Groups that are not published are not exported: the server answers them with a wider one.
        sections = sorted({g[0] for g in groups if g[0]})
        unpublished = [g for g in ((s, c, p) for s in sections for c in ("micro", "medium", "large") for p in ("", "NL-DR", "NL-ZE"))
                       if g not in groups][:12]
        wider = []
        for section, size, province in unpublished:
            used = query(http_base, key, {"sbi_section": section, "size_class": size, "province": province}, year)["groupUsed"]
            g = used.get("group", {})
            wider.append(used.get("fallback") and (g.get("sbiSection", ""), g.get("sizeClass", ""), g.get("province", "")) in groups)
        check(f"{len(unpublished)} groups not in the export are answered with a wider exported group",
              len(unpublished) > 0 and all(wider), list(zip(unpublished, wider)))

        # The server's files are the command's, byte for byte.
        for fmt, path in paths.items():
            request = urllib.request.Request(f"{http_base}/v1/benchmarks:export?year={year}&format={fmt}",
                                             headers={"Authorization": f"Bearer {key}"})
            with urllib.request.urlopen(request, timeout=60) as reply, open(path, "rb") as f:
                served, disposition = reply.read(), reply.headers.get("Content-Disposition", "")
                check(f"GET /v1/benchmarks:export?format={fmt} serves the same file as report-gen export",
                      served == f.read() and f".{year}.{fmt}" in disposition, (len(served), disposition))

        done = run(report_gen, "export", "--year", "1990", "--format", "csv", "--out", os.path.join(scratch, "x.csv"), *database)
        check("a year without published figures is exit 1 naming the years that have some",
              done.returncode == 1 and f"it has for" in done.stderr and str(year) in done.stderr, done.stderr)
        done = run(report_gen, "export", "--format", "csv", "--out", os.path.join(scratch, "x.csv"), *database)
        check("--year missing is exit 64", done.returncode == 64 and "--year" in done.stderr, done.stderr)
    finally:
        server.terminate()
        code = server.wait(timeout=30)
        check("server exits 0 on SIGTERM", code == 0, code)

    print(f"Open figures: {len(PASSED)} passed, {len(FAILED)} failed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()

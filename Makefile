# The single entry point. CI (.ci/run) calls `make test`; the README shows the same targets.

CARGO ?= cargo
# Storage tests run on SQLite and on this PostgreSQL server (each test makes its own database).
export MATURITY_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/postgres
PYTHON ?= python3
VENV := target/stock-client-venv
AXE := target/tools/npm/node_modules/axe-core/axe.min.js
# The report generator loads the fonts for other scripts from here (see `make fonts`).
export MATURITY_FONT_DIRS ?= $(CURDIR)/fonts
FONT_FILES := fonts/DejaVuSans.ttf fonts/DejaVuSans-Bold.ttf fonts/NotoSansCJK-Regular.ttc \
	fonts/NotoSansCJK-Bold.ttc fonts/NotoColorEmoji.ttf

.PHONY: run fonts dist dist-check sample-pages questionnaire-pages test lint unit stock-client browser fuzz fuzz-long bench bench-night bench-sector bench-scale soak fmt clean

## make run: build, start the all-in-one server, score the synthetic sample assessment through the
## real gRPC API, print the summary, and keep serving until Ctrl-C. Other ports:
## GRPC_ADDR=HOST:PORT HTTP_ADDR=HOST:PORT|off ADMIN_ADDR=HOST:PORT|off make run (unset: the
## configuration's, by default 127.0.0.1:50051, 127.0.0.1:8080 and 127.0.0.1:9464).
run: fonts
	$(CARGO) build --bin maturity
	./target/debug/maturity run $(if $(GRPC_ADDR),--grpc-addr $(GRPC_ADDR)) \
		$(if $(HTTP_ADDR),--http-addr $(HTTP_ADDR)) $(if $(ADMIN_ADDR),--admin-addr $(ADMIN_ADDR))

## make fonts: the fonts that let a firm's name in Arabic, Hebrew, Chinese, Japanese, Korean or
## with emoji typeset (DejaVu Sans, Noto Sans CJK, Noto Color Emoji) copied into fonts/; on Debian
## and Ubuntu it installs their packages when missing (tools/fonts/install.sh).
fonts: $(FONT_FILES)

$(FONT_FILES):
	tools/fonts/install.sh

## make sample-pages: the sample chapter of `make run` and those of the six synthetic firms of
## examples/samples/ (Dutch and English) as PNG pages under docs/sample/, regenerated from scratch
## runs (tools/docs/sample_pages.sh).
sample-pages: fonts
	$(CARGO) build --bin maturity --bin report-gen
	tools/docs/sample_pages.sh

## make dist: release binaries, then into target/dist/ a tarball laid out as the file system it
## installs into (tar -xzf ... -C /) and a Debian package of the same files, with the systemd units
## of the server and the nightly batch; then tools/dist/check.sh unpacks the tarball into a scratch
## folder and runs it from there (docs/deployment.md).
dist: fonts
	$(CARGO) build --release --bin maturity --bin report-gen
	tools/dist/build.sh target/release
	tools/dist/check.sh

## make dist-check (a step of make test): the same artifacts from the test build's binaries, unpacked
## into a scratch folder and run from there, the units checked by systemd-analyze verify.
dist-check: fonts
	$(CARGO) test --workspace --no-run --quiet
	tools/dist/build.sh target/debug target/dist-check
	tools/dist/check.sh target/dist-check

## make test: formatting, clippy with warnings denied, every Rust test, the stock gRPC client, and
## a short run of every fuzz target.
test: lint unit stock-client browser dist-check fuzz

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(PYTHON) tools/arch/check.py
	$(PYTHON) tools/arch/functions.py --over 100 --max-over-100 0 --max-over-60 17
	tools/proto/check.sh

unit: fonts
	$(CARGO) test --workspace

# Stock clients in another language against the real binaries: Python grpcio + reflection
# (stock_client.py, which also reads /metrics with the Prometheus project's OpenMetrics parser and
# finds a call's trace id as an exemplar); a client generated from /openapi.json by openapi-python-client running the
# CRM flow, grpcurl on every public method and curl on every REST route of docs/integration.md
# (crm_flow.py); the open figures of `report-gen export` read back by pyarrow and compared with
# QueryBenchmark (open_figures.py); the hostile integrator's probes, each of which must stay refused
# (hostile_http.py). The binaries are the ones the test build makes (the same features as `make
# unit`), so that `make test` does not compile the dependencies a second time.
stock-client: $(VENV)/.installed fonts
	$(CARGO) test --workspace --no-run --quiet
	$(VENV)/bin/python tests/stock-client/stock_client.py target/debug/maturity models/nl-social-business/v3.toml
	$(VENV)/bin/python tests/stock-client/crm_flow.py target/debug/maturity target/debug/report-gen docs/integration.md
	$(VENV)/bin/python tests/stock-client/open_figures.py target/debug/maturity target/debug/report-gen
	$(VENV)/bin/python tests/stock-client/hostile_http.py target/debug/maturity

## make browser: the questionnaire answered in a real browser (Debian's Chromium, headless, over
## WebDriver): two devices by keyboard only, without JavaScript, revoked and expired links, and
## axe-core on every page type in Dutch and English (tests/browser/questionnaire.py). Chromium,
## ChromeDriver and axe-core are installed when missing (tools/browser/install.sh).
browser: $(VENV)/.installed
	tools/browser/install.sh
	$(CARGO) test --workspace --no-run --quiet
	$(VENV)/bin/python tests/browser/questionnaire.py target/debug/maturity $(AXE)

## make questionnaire-pages: the browser test again, writing a screenshot of each page type, in
## Dutch and English, to docs/questionnaire/.
questionnaire-pages: $(VENV)/.installed
	tools/browser/install.sh
	$(CARGO) build --quiet -p services-maturity --bin maturity
	$(VENV)/bin/python tests/browser/questionnaire.py target/debug/maturity $(AXE) docs/questionnaire

$(VENV)/.installed: tests/stock-client/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/stock-client/requirements.txt
	touch $@

## make fuzz: every cargo-fuzz target of fuzz/ for 20 s (installs cargo-fuzz into target/tools the
## first time). make fuzz-long: 15 minutes each. A crash leaves its input in fuzz/artifacts/.
fuzz:
	tools/fuzz/run.sh 20

fuzz-long:
	tools/fuzz/run.sh 900

## make bench: the standard load scenarios (release build), one table. Figures go in BENCHMARKS.md.
bench:
	$(CARGO) build --release -p tools-loadgen --bin loadgen --example score_path
	./target/release/examples/score_path
	./target/release/loadgen --scenarios score,echo,get-model --concurrency 32 --duration 10
	./target/release/loadgen --scenarios echo --echo-bytes 1570 --concurrency 32 --duration 10
	./target/release/loadgen --scenarios submit,submit-http,submit-rest --concurrency 8 --duration 10
	./target/release/loadgen --scenarios render --concurrency 1 --duration 10
	./target/release/loadgen --scenarios render --concurrency 4 --duration 10

## make bench-night: the nightly batch over 250 and 1 000 synthetic assessments (chapters/s, peak memory).
bench-night:
	$(CARGO) build --release --bin maturity --bin report-gen --bin loadgen
	tools/bench/night.sh 250
	tools/bench/night.sh 1000

## make bench-sector: sector volumes (one sector, and the night's --sectors), the open figures
## export, the volume over HTTP and the server's start-up with the fit verdicts filled in, over the
## 20 000 demo peers (tools/bench/sector.sh; `tools/bench/sector.sh 1000000 F 3` at national scale).
bench-sector:
	$(CARGO) build --release --bin maturity --bin report-gen
	tools/bench/sector.sh 20000 F 5

## make bench-scale N=1000000: the benchmark at national scale on SQLite and PostgreSQL in one run:
## seed N synthetic contributions, then Echo, QueryBenchmark, GetPeerPosition (1 and 16 clients),
## SubmitAssessment (16 clients), the raw percentile_cont query, peak memory (tools/bench/scale.sh).
N ?= 20000
bench-scale:
	$(CARGO) build --release --bin maturity --bin loadgen
	tools/bench/scale.sh $(N)

## make soak: the longer reliability scenarios of RELIABILITY.md: SubmitAssessment at a sustainable
## rate, at ten times that and after (load shedding, the server's memory, recovery), then the fault
## tests ten times over.
soak:
	$(CARGO) build --release --bin maturity --bin loadgen
	tools/bench/overload.sh 30 300 20 15
	CARGO=$(CARGO) tools/soak/repeat.sh 10 services-maturity it faults webhooks
	CARGO=$(CARGO) tools/soak/repeat.sh 10 report-gen batch full_output unwritable sigkill

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean

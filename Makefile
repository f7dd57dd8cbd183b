# Two commands on a fresh clone: `make demo` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PEOPLE ?= 10000
SEED ?= 42
# The demo bank's business date: the simulator dates its systems to it and `make demo` runs the
# pipeline for it (the run's partition), so a second `make demo` finds the same data.
AS_OF ?= 2026-11-28
export DAGSTER_HOME := $(CURDIR)/var/dagster

.PHONY: demo test test-fast ui api bench bench-api bench-incremental bench-scale bench-warehouses lint typecheck lock clean install browser

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian's chromium renders the auditor's report in the browser tests (never a downloaded browser).
/usr/bin/chromium:
	@if [ "$$(id -u)" = 0 ]; then \
	  (apt-get install -y -q chromium >/dev/null 2>&1 || \
	   (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)); \
	else echo "chromium missing: sudo apt-get install chromium (browser tests will be skipped)"; fi

browser: /usr/bin/chromium

var/dagster/dagster.yaml: pipelines/dagster.yaml
	mkdir -p var/dagster
	cp pipelines/dagster.yaml $@

## demo: simulate the three bank systems (PEOPLE=10000) and run the whole pipeline on DuckDB
demo: $(STAMP) var/dagster/dagster.yaml
	$(BIN)/mdm simulate --people $(PEOPLE) --seed $(SEED) --as-of $(AS_OF) --out var/sources
	$(BIN)/mdm run --config mdm.yaml --as-of $(AS_OF)

## test: the whole test suite (PostgreSQL tests run when the server is reachable; required in CI)
test: $(STAMP) browser
	cd dbt_project && ../$(BIN)/dbt parse --quiet --profiles-dir . --target duckdb
	$(BIN)/pytest

## test-fast: the unit tier, about a minute: the matching engine, standardizers and quality rules
## on frames and small files (no pipeline run, no server, no PostgreSQL, no browser)
test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow and not postgres and not browser" tests/matching tests/quality

## ui: the Dagster UI on this project, with its run history under var/dagster
ui: $(STAMP) var/dagster/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

## api: the read API on http://127.0.0.1:8000 (serves the snapshot the last run published), with
## its documentation at /docs (MDM_API_DOCS: off unless asked for, as in production)
api: $(STAMP)
	MDM_API_DOCS=true $(BIN)/mdm api --host 127.0.0.1 --port 8000

## bench: throughput and peak memory per stage, matching quality on both simulator profiles at
## x1 and x2 noise with recall per blocking rule and misses by cause, FEBRL, the read-audit
## writer on SQLite, an incremental run with 1% changed against a full one at 1,000,000 people
## (issue 16: <= 10%), POST /records and POST /match on
## 1,000,000 golden records (/match closed loop and paced: 16 connections, 150 ms apart, ~100
## req/s offered; needs wrk), the standardized quality checks in SQL against pandas, Spark against
## local matching (not part of the tests)
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_simulate.py 1000000
	$(BIN)/python benchmarks/bench_standardize.py 600000
	$(BIN)/python benchmarks/bench_matching.py 200000
	$(BIN)/python benchmarks/bench_pipeline.py --people 1150000
	$(BIN)/python benchmarks/bench_pipeline.py --people 100000 --matrix
	$(BIN)/python benchmarks/febrl.py
	$(BIN)/python benchmarks/bench_audit.py --events 50000
	$(BIN)/python benchmarks/bench_incremental.py --people 1000000 --changed 0.01
	$(BIN)/python benchmarks/bench_records.py --people 1000000 --posts 50
	$(BIN)/python benchmarks/bench_quality_checks.py --rows 1000000
	$(BIN)/python benchmarks/bench_spark.py --people 100000
	$(BIN)/python benchmarks/bench_api.py --golden 1000000 --only match --paced-ms 150

## bench-api: wrk against `mdm api` (2 workers) on a 1,000,000-golden-record snapshot: req/s, p50,
## p99 per endpoint and the server's peak memory (needs wrk: apt-get install wrk). Pass options
## with ARGS, e.g. make bench-api ARGS="--role relationship_manager --branch B0001" (auth and audit on)
bench-api: $(STAMP)
	$(BIN)/python benchmarks/bench_api.py $(ARGS)

## bench-incremental: an incremental run with 1% of the rows changed against a full run, wall time
## and share (standardize + match + golden on DuckDB); BENCH_PEOPLE=1000000 for the issue's figure
BENCH_PEOPLE ?= 100000
bench-incremental: $(STAMP)
	$(BIN)/python benchmarks/bench_incremental.py --people $(BENCH_PEOPLE) --changed 0.01

## bench-scale: the whole run (mdm_full_run) on DuckDB at about 2M source customer records, seconds
## and peak memory per stage against issue 17's targets; the simulation is kept in var/bench-scale
bench-scale: $(STAMP)
	$(BIN)/python benchmarks/bench_scale.py 1150000 --work-dir var/bench-scale

## bench-warehouses: the whole job on DuckDB and PostgreSQL side by side (about 1M records)
bench-warehouses: $(STAMP)
	$(BIN)/python benchmarks/bench_warehouses.py 570000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## lock: re-resolve constraints.txt from pyproject.toml (then review the pin reasons)
lock:
	$(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header -o /tmp/mdm-constraints.txt
	$(PYTHON) scripts/annotate_constraints.py /tmp/mdm-constraints.txt constraints.txt

clean:
	rm -rf var dbt_project/target dbt_project/logs

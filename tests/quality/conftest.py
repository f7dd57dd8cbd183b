"""A small warehouse with runs of quality results, their failing rows and a quarantine, and the
orchestrator's record of those runs, for the report tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from connectors.reports import DataDocs
from connectors.warehouse import Warehouse, open_warehouse
from quality.catalogue import RULES_BY_ID, QualityConfig
from quality.runs import RUN_COLUMNS
from quality.suites import FAILING_ROW_COLUMNS, RESULT_COLUMNS, run_suite

# Unmasked C2 values planted in the inputs: none may reach the report.
RESIDENT_ID = "130102198503071235"
MOBILE = "13800138000"


@dataclass
class ReportWarehouse:
    store: Warehouse
    reports_dir: Path
    runs: pd.DataFrame
    current: str = "run-2"
    earlier: str = "run-1"


def _row(run_id: str, at: str, rule_id: str, source: str, evaluated: int, failed: int, **extra):
    rule = RULES_BY_ID[rule_id]
    row = {
        "run_id": run_id,
        "checked_at": pd.Timestamp(at),
        "stage": rule.stage,
        "rule_id": rule_id,
        "dimension": rule.dimension,
        "severity": rule.severity,
        "source_system": source,
        "evaluated": evaluated,
        "failed": failed,
        "score": 1 - failed / evaluated,
        "passed": failed == 0,
        "examples": "",
    }
    row.update(extra)
    return row


@pytest.fixture
def report_warehouse(tmp_path: Path) -> ReportWarehouse:
    """run-1: everything passed. run-2: a blocking raw failure (crm), a warning (core), and a
    timeliness rule that passed its 40 % pass mark with a 45 % score. run-0 (incremental) and
    run-x (failed part-way) have scores of their own that no trend may use.

    run-2's examples hold an unmasked ID and mobile (as a careless writer might store them):
    the report masks again whatever it prints.
    """
    store = open_warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    store.ensure_schemas()
    rows = [
        _row("run-0", "2026-11-26 02:00", "raw.key_unique", "crm", 20, 10, passed=False),
        _row("run-x", "2026-11-27 12:00", "raw.key_unique", "crm", 200, 100, passed=False),
        _row("run-1", "2026-11-27 02:00", "raw.key_unique", "crm", 200, 0),
        _row("run-1", "2026-11-27 02:00", "std.mobile_format", "core", 400, 0),
        _row("run-1", "2026-11-27 02:01", "golden.name_complete", "all", 300, 0),
        _row(
            "run-2",
            "2026-11-28 02:00",
            "raw.key_unique",
            "crm",
            200,
            20,
            examples=f"CRM1000001: 客户编号=CRM1000001; CRM1000002: 证件号码={RESIDENT_ID}",
        ),
        _row(
            "run-2",
            "2026-11-28 02:01",
            "std.mobile_format",
            "core",
            400,
            40,
            examples=f"core:C1: mobile={MOBILE}",
            passed=False,
        ),
        _row("run-2", "2026-11-28 02:02", "golden.name_complete", "all", 300, 0),
        _row("run-2", "2026-11-28 02:01", "std.updated_recently", "crm", 200, 110, passed=True),
    ]
    store.replace_table("dq.results", pd.DataFrame(rows, columns=list(RESULT_COLUMNS)))
    # The failing rows the checks kept, masked, as pipelines/checks.py appends them.
    failing = [
        ("run-2", "raw.key_unique", "crm", 1, "CRM1000001", "客户编号", "CRM1000001", "姓名=张*"),
        ("run-2", "raw.key_unique", "crm", 2, "CRM1000001", "客户编号", "CRM1000001", "姓名=李*"),
        ("run-2", "std.mobile_format", "core", 1, "core:C1", "mobile", "138****8000", ""),
        ("run-2", "std.mobile_format", "core", 2, "core:C2", "mobile", None, ""),
    ]
    store.replace_table(
        "dq.failing_rows",
        pd.DataFrame(
            [
                {
                    "run_id": run_id,
                    "checked_at": pd.Timestamp("2026-11-28 02:00"),
                    "stage": RULES_BY_ID[rule_id].stage,
                    "rule_id": rule_id,
                    "source_system": source,
                    "row_number": number,
                    "row_key": key,
                    "column_name": column,
                    "value": value,
                    "detail": detail,
                }
                for run_id, rule_id, source, number, key, column, value, detail in failing
            ],
            columns=list(FAILING_ROW_COLUMNS),
        ),
    )
    payload = {
        "cust_no": "C100000003",
        "cust_name": "测试用户01",
        "cert_no": RESIDENT_ID,
        "mobile_no": MOBILE,
        "_batch_id": "20261128T020000-abcdef12",
    }
    store.replace_table(
        "mdm.quarantine",
        pd.DataFrame(
            {
                "source_system": ["core", "core", "crm"],
                "source_record_id": ["C100000003", "C100000004", "CRM1000009"],
                "batch_id": ["b1", "b1", "b2"],
                "rule": ["junk_name", "junk_name", "duplicate_key"],
                "reason": ["test name", "test name", "repeated key"],
                "raw_payload": [json.dumps(payload, ensure_ascii=False)] * 3,
                "quarantined_at": pd.to_datetime(["2026-11-28 02:00"] * 3),
            }
        ),
    )
    reports_dir = tmp_path / "reports"
    # The GX validation behind run-2's crm failure, kept for the Data Docs as a check keeps it.
    frame = pd.DataFrame({"客户编号": ["CRM1", "CRM1", "CRM2"], "证件号码": [RESIDENT_ID] * 3})
    run = run_suite(
        frame,
        [RULES_BY_ID["raw.key_unique"]],
        QualityConfig(),
        suite="raw.crm",
        batch="crm_customers",
        source_system="crm",
        context={"key_column": "客户编号"},
        key_column="客户编号",
        sensitive={"证件号码": "id"},
    )
    DataDocs(reports_dir).store(
        [run], run_id="run-2", run_time=datetime(2026, 11, 28, 2, tzinfo=UTC)
    )
    runs = pd.DataFrame(
        [
            (
                "run-0",
                "mdm_full_run",
                "2026-11-26 02:00",
                "2026-11-26 02:05",
                "incremental",
                "succeeded",
            ),
            ("run-1", "mdm_full_run", "2026-11-27 01:59", "2026-11-27 02:10", "full", "succeeded"),
            ("run-x", "mdm_full_run", "2026-11-27 11:59", "2026-11-27 12:01", "full", "failed"),
            ("run-2", "mdm_full_run", "2026-11-28 01:59", None, "full", "running"),
        ],
        columns=list(RUN_COLUMNS),
    ).assign(
        started=lambda f: pd.to_datetime(f["started"]),
        finished=lambda f: pd.to_datetime(f["finished"]),
    )
    return ReportWarehouse(store, reports_dir, runs)

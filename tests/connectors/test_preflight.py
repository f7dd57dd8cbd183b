"""`mdm check`'s preflight on small real sources: each bad input gets its one line.

Three sources are written into tmp_path: a SQLite core (customers, accounts), a GBK CSV folder
(customers, tickets) and an Excel workbook whose data sits on a named sheet that is not the
first. Each test spoils one thing in mdm.yaml or in the files and asserts the line that names
it; the preflight must write nothing (the SQLite file's bytes, the folders' listings).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from connectors.config import SourceConfig
from connectors.preflight import PreflightReport, preflight
from connectors.source_counts import count_source_rows
from connectors.sources import SourceReadError, read_file_table, read_sql_table
from matching.standardize.ids import check_digits
from pipelines.mdm_config import load_config


def resident_id(area: str, birth: str, sequence: str) -> str:
    body = area + birth + sequence
    return body + str(check_digits(pd.Series([body])).iloc[0])


NAMES = ["欧阳婧", "陈晓东", "刘芳华", "周建国", "吴丽娟", "郑海涛"]
IDS = [resident_id("130102", f"198{i}0{i + 1}1{i}", f"{i}2{i}") for i in range(6)]
MOBILES = [f"1381234{i:04d}" for i in range(6)]


def write_sources(root: Path) -> None:
    core = root / "core.sqlite"
    with sqlite3.connect(core) as connection:
        connection.execute(
            "create table customers (cust_id text, cust_name text, cert_type text, "
            "cert_no text, gender_cd text, mobile_no text, upd_ts text)"
        )
        connection.executemany(
            "insert into customers values (?, ?, ?, ?, ?, ?, ?)",
            [
                (f"C{i}", NAMES[i], "01", IDS[i], "1" if i % 2 else "2", MOBILES[i], "2025-01-01")
                for i in range(6)
            ],
        )
        connection.execute(
            "create table accounts (acct_no text, cust_id text, acct_type text, balance text)"
        )
        connection.executemany(
            "insert into accounts values (?, ?, ?, ?)",
            [(f"A{i}", f"C{i}", ["DEMAND", "TIME"][i % 2], "100.50") for i in range(6)],
        )
    crm = root / "crm"
    crm.mkdir()
    pd.DataFrame(
        {
            "客户编号": [f"K{i}" for i in range(6)],
            "姓名": NAMES,
            "证件号码": IDS,
            "手机": MOBILES,
            "性别": ["男", "女", "男", "女", "男", "女"],
        }
    ).to_csv(crm / "crm_customers.csv", index=False, encoding="gbk")
    pd.DataFrame(
        {
            "工单编号": [f"T{i}" for i in range(6)],
            "客户编号": [f"K{i}" for i in range(6)],
            "类别": ["投诉", "咨询", "投诉", "咨询", "投诉", "咨询"],
        }
    ).to_csv(crm / "tickets.csv", index=False, encoding="gbk")
    wealth = root / "wealth"
    wealth.mkdir()
    with pd.ExcelWriter(wealth / "wm_cust.xlsx") as workbook:
        pd.DataFrame({"说明": ["客户导出"]}).to_excel(workbook, sheet_name="说明", index=False)
        pd.DataFrame(
            {"客户号": [f"W{i}" for i in range(6)], "客户姓名": NAMES, "证件号码": IDS}
        ).to_excel(workbook, sheet_name="数据", index=False)


def base_document(root: Path) -> dict[str, Any]:
    return {
        "sources": {
            "core": {
                "trust_rank": 1,
                "connector": "sql",
                "url": f"sqlite:///{root / 'core.sqlite'}",
                "party_table": "customers",
                "key_column": "cust_id",
                "mapping": {
                    "name": "cust_name",
                    "id_type": "cert_type",
                    "id_number": "cert_no",
                    "gender": "gender_cd",
                    "mobile": "mobile_no",
                    "updated_at": "upd_ts",
                },
                "id_type_codes": {"01": "resident_id", "02": "passport"},
                "gender_codes": {"1": "M", "2": "F"},
                "entities": {
                    "account": {
                        "table": "accounts",
                        "mapping": {
                            "account_no": "acct_no",
                            "customer_no": "cust_id",
                            "account_type": "acct_type",
                            "balance": "balance",
                        },
                    }
                },
            },
            "crm": {
                "trust_rank": 2,
                "connector": "csv",
                "path": str(root / "crm"),
                "encoding": "gbk",
                "party_table": "crm_customers",
                "key_column": "客户编号",
                "mapping": {
                    "name": "姓名",
                    "id_number": "证件号码",
                    "mobile": "手机",
                    "gender": "性别",
                },
                "default_id_type": "resident_id",
                "entities": {
                    "service_ticket": {
                        "table": "tickets",
                        "mapping": {
                            "ticket_id": "工单编号",
                            "customer_no": "客户编号",
                            "category": "类别",
                        },
                        "codes": {"category": {"投诉": "complaint", "咨询": "inquiry"}},
                    }
                },
            },
            "wealth": {
                "trust_rank": 3,
                "connector": "excel",
                "path": str(root / "wealth"),
                "sheet": "数据",
                "party_table": "wm_cust",
                "key_column": "客户号",
                "mapping": {"name": "客户姓名", "id_number": "证件号码"},
                "default_id_type": "resident_id",
            },
        }
    }


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    root = tmp_path / "sources"
    root.mkdir()
    write_sources(root)
    return root


Edit = Callable[[dict[str, Any]], None]


def check(sources: Path, edit: Edit | None = None) -> PreflightReport:
    document = base_document(sources)
    if edit is not None:
        edit(document)
    path = sources.parent / "mdm.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    config = load_config(path)
    return preflight(config.sources, config.quality)


def problem_lines(report: PreflightReport) -> list[str]:
    return [problem.line() for problem in report.problems]


def listing(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_clean_sources_pass_and_nothing_is_written(sources: Path) -> None:
    before = listing(sources)
    report = check(sources)
    assert report.ok, problem_lines(report)
    assert report.warnings == []
    assert listing(sources) == before
    summaries = report.lines()
    assert summaries[0] == (
        "core: OK: rows sampled: customers 6, accounts 6; valid resident IDs 100.0% of sampled "
        "records (threshold 80%)"
    )
    assert summaries[2].startswith("wealth: OK: rows sampled: wm_cust 6;")


def test_a_mapped_column_that_does_not_exist_is_named_with_its_config_key(sources: Path) -> None:
    def edit(document: dict[str, Any]) -> None:
        document["sources"]["crm"]["mapping"]["mobile"] = "手机号"

    assert problem_lines(check(sources, edit)) == [
        "crm: mapping.mobile: column '手机号' not in crm_customers (columns: 客户编号, 姓名, "
        "证件号码, 手机, 性别); did you mean '手机'?"
    ]


def test_an_entity_column_that_does_not_exist_is_named(sources: Path) -> None:
    def edit(document: dict[str, Any]) -> None:
        document["sources"]["core"]["entities"]["account"]["mapping"]["balance"] = "bal"

    assert problem_lines(check(sources, edit)) == [
        "core: entities.account.mapping.balance: column 'bal' not in accounts (columns: "
        "acct_no, cust_id, acct_type, balance); did you mean 'balance'?"
    ]


def test_a_missing_sqlite_file_is_a_problem_and_is_never_created(sources: Path) -> None:
    missing = sources / "nowhere" / "credit.sqlite"

    def edit(document: dict[str, Any]) -> None:
        document["sources"]["core"]["url"] = f"sqlite:///{missing}"

    assert problem_lines(check(sources, edit)) == [
        f"core: url: SQLite file {missing} does not exist"
    ]
    assert not missing.parent.exists()


def test_a_missing_table_lists_the_tables_there_are(sources: Path) -> None:
    def edit(document: dict[str, Any]) -> None:
        document["sources"]["core"]["entities"]["account"]["table"] = "dep_account"

    assert problem_lines(check(sources, edit)) == [
        f"core: entities.account.table: table 'dep_account' not in "
        f"sqlite:///{sources / 'core.sqlite'} (tables: accounts, customers)"
    ]


def test_a_missing_csv_folder_is_one_line(sources: Path) -> None:
    def edit(document: dict[str, Any]) -> None:
        document["sources"]["crm"]["path"] = str(sources / "crm_export")

    assert problem_lines(check(sources, edit)) == [
        f"crm: path: folder {sources / 'crm_export'} does not exist"
    ]


def test_a_missing_file_in_the_folder_lists_the_files_there_are(sources: Path) -> None:
    (sources / "crm" / "tickets.csv").rename(sources / "crm" / "tickets_2025.csv")
    assert problem_lines(check(sources)) == [
        f"crm: entities.service_ticket.table: no file tickets.csv, .xlsx or .parquet in "
        f"{sources / 'crm'} (files: crm_customers.csv, tickets_2025.csv)"
    ]


def test_a_csv_that_does_not_decode_names_the_encoding_that_would(sources: Path) -> None:
    def edit(document: dict[str, Any]) -> None:
        document["sources"]["crm"]["encoding"] = "utf-8"

    lines = problem_lines(check(sources, edit))
    assert len(lines) == 2  # both files of the folder
    customers = sources / "crm" / "crm_customers.csv"
    assert lines[0].startswith(f"crm: encoding: {customers} cannot be decoded as utf-8 (byte ")
    assert lines[0].endswith("; it decodes as gbk: set encoding: gbk")


def test_utf8_text_read_as_gb18030_is_reported_as_garbled(sources: Path) -> None:
    # Two-character names: their UTF-8 bytes also decode as GB18030, into other characters.
    pd.DataFrame(
        {"cust_no": ["K0", "K1", "K2"], "name": ["陈东", "刘芳", "周建"], "mobile": MOBILES[:3]}
    ).to_csv(sources / "crm" / "crm_customers.csv", index=False, encoding="utf-8")

    def edit(document: dict[str, Any]) -> None:
        crm = document["sources"]["crm"]
        crm.update(encoding="gb18030", key_column="cust_no", entities={})
        crm["mapping"] = {"name": "name", "mobile": "mobile"}

    assert problem_lines(check(sources, edit)) == [
        "crm: encoding: 3 of the first 3 rows of crm_customers hold text decoded with the wrong "
        "encoding (encoding: gb18030); try another encoding (utf-8, gbk, gb18030)"
    ]


def test_a_missing_excel_sheet_lists_the_sheets(sources: Path) -> None:
    def edit(document: dict[str, Any]) -> None:
        document["sources"]["wealth"]["sheet"] = "客户"

    assert problem_lines(check(sources, edit)) == [
        f"wealth: sheet: {sources / 'wealth' / 'wm_cust.xlsx'} has no sheet '客户' "
        "(sheets: 说明, 数据)"
    ]


def test_the_configured_sheet_is_read_and_counted(sources: Path) -> None:
    path = sources / "wealth" / "wm_cust.xlsx"
    assert list(read_file_table(path)["说明"]) == ["客户导出"]  # default: the first sheet
    frame = read_file_table(path, sheet="数据")
    assert list(frame["客户号"]) == [f"W{i}" for i in range(6)]
    assert list(read_file_table(path, sheet=1, nrows=2)["客户号"]) == ["W0", "W1"]
    source = SourceConfig.model_validate(base_document(sources)["sources"]["wealth"])
    assert count_source_rows(source, "wm_cust") == 6
    with pytest.raises(SourceReadError, match=r"has no sheet 2 \(sheets: 说明, 数据\)"):
        read_file_table(path, sheet=2)


def test_duplicate_keys_in_the_sample_are_a_problem(sources: Path) -> None:
    with sqlite3.connect(sources / "core.sqlite") as connection:
        connection.execute("update customers set cust_id = 'C1' where cust_id in ('C2', 'C3')")
    assert problem_lines(check(sources)) == [
        "core: key_column: 1 keys occur more than once in the first 6 rows of customers "
        "(2 extra rows, more than the 1.0% quality.max_duplicate_key_rate allows): is "
        "'cust_id' the table's key?"
    ]


def test_unmapped_codes_are_counted_with_the_line_to_add(sources: Path) -> None:
    frame = pd.read_csv(sources / "crm" / "crm_customers.csv", encoding="gbk", dtype=str)
    frame["性别"] = ["U", "U", "男", "0", "U", "0"]
    frame.to_csv(sources / "crm" / "crm_customers.csv", index=False, encoding="gbk")
    tickets = pd.read_csv(sources / "crm" / "tickets.csv", encoding="gbk", dtype=str)
    tickets["类别"] = ["投诉", "表扬", "表扬", "咨询", "inquiry", "COMPLAINT"]
    tickets.to_csv(sources / "crm" / "tickets.csv", index=False, encoding="gbk")
    with sqlite3.connect(sources / "core.sqlite") as connection:
        connection.execute("update customers set cert_type = '03' where cust_id in ('C4', 'C5')")
    assert problem_lines(check(sources)) == [
        "core: id_type_codes: 1 unmapped code in 'cert_type': '03' (2 rows); add e.g. "
        "id_type_codes: {..., '03': unknown} (resident_id, passport, hk_macao_permit, "
        "taiwan_permit, foreign_permanent_residence, other; unknown: the number's shape "
        "decides)",
        "crm: gender_codes: 2 unmapped codes in '性别': 'U' (3 rows), '0' (2 rows); add e.g. "
        "gender_codes: {..., U: unknown, '0': unknown} (M, F or unknown)",
        # Values already canonical (`inquiry`, any case) need no entry.
        "crm: entities.service_ticket.codes.category: 1 unmapped code in '类别': '表扬' "
        "(2 rows); add e.g. category: {..., 表扬: other} under entities.service_ticket.codes "
        "(values: complaint, inquiry, address_change, loss_report, request, other)",
    ]


def test_a_column_of_personal_values_mapped_as_codes_is_not_printed(sources: Path) -> None:
    def edit(document: dict[str, Any]) -> None:
        document["sources"]["crm"]["mapping"]["gender"] = "姓名"

    lines = problem_lines(check(sources, edit))
    assert lines == [
        "crm: gender_codes: 6 unmapped codes in '姓名': 6 values seen once (not shown) "
        "(M, F or unknown)"
    ]
    assert all(name not in " ".join(lines) for name in NAMES)


def test_a_wide_column_mapped_as_codes_is_counted_not_shown(sources: Path) -> None:
    with sqlite3.connect(sources / "core.sqlite") as connection:
        rows = [(f"C{i}", "周建国", "01", f"X{i:05d}", "1", None, None) for i in range(10, 40)]
        connection.executemany("insert into customers values (?, ?, ?, ?, ?, ?, ?)", rows)

    def edit(document: dict[str, Any]) -> None:
        document["sources"]["core"]["mapping"]["id_type"] = "cert_no"

    lines = problem_lines(check(sources, edit))
    assert lines == [
        "core: id_type_codes: 36 distinct unmapped values in 'cert_no' (36 of 36 sampled "
        "values), too many or too long for a code list (not shown): is mapping.id_type the "
        "right column?"
    ]


def test_a_low_valid_id_share_is_a_warning_naming_both_keys(sources: Path) -> None:
    with sqlite3.connect(sources / "core.sqlite") as connection:
        connection.execute("update customers set cert_no = substr(cert_no, 1, 17) || 'Y'")

    def edit(document: dict[str, Any]) -> None:
        document["sources"]["core"]["quality"] = {
            "severity": {"std.valid_resident_id_share": "blocking"}
        }

    report = check(sources, edit)
    assert report.ok
    assert [warning.line() for warning in report.warnings] == [
        "core: quality.min_valid_id_rate: 0.0% of the sampled records have a valid resident ID, "
        "below the 80% threshold (quality.min_valid_id_rate, or "
        "sources.core.quality.min_valid_id_rate); std.valid_resident_id_share is blocking for "
        "this source (the run would stop there)"
    ]
    assert "warning: core: quality.min_valid_id_rate: " in report.lines()[0]


def test_the_source_readers_refuse_a_missing_sqlite_file_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "core.sqlite"
    with pytest.raises(SourceReadError) as raised:
        list(read_sql_table(f"sqlite:///{missing}", "customers", source="core"))
    assert str(raised.value) == f"core: SQLite file {missing} does not exist"
    source = SourceConfig.model_validate(
        {
            "trust_rank": 1,
            "connector": "sql",
            "url": f"sqlite:///{missing}",
            "party_table": "customers",
            "key_column": "id",
            "mapping": {"name": "name"},
        }
    )
    with pytest.raises(SourceReadError, match="does not exist"):
        count_source_rows(source, "customers")
    assert not missing.exists()


def test_the_sql_reader_opens_sqlite_read_only(sources: Path) -> None:
    url = f"sqlite:///{sources / 'core.sqlite'}"
    frame = pd.concat(read_sql_table(url, "customers"))
    assert len(frame) == 6
    assert len(pd.concat(read_sql_table(url, "customers", limit=2))) == 2
    with pytest.raises(SourceReadError, match=r"table 'cif' not found in .* \(tables: accounts"):
        list(read_sql_table(url, "cif"))
    from connectors.sources import open_source_engine

    engine = open_source_engine(url)
    try:
        with pytest.raises(sa.exc.OperationalError, match="readonly"), engine.begin() as conn:
            conn.execute(sa.text("delete from customers"))
    finally:
        engine.dispose()


def test_an_identifiers_table_is_sampled_for_the_sampled_customers(sources: Path) -> None:
    with sqlite3.connect(sources / "core.sqlite") as connection:
        connection.execute("create table cust_cert (cust_id text, cert_tp text, cert_no text)")
        documents = [(f"C{i}", "101", IDS[i]) for i in range(6)]
        documents += [("C0", "999", "E12345678"), ("C1", "999", "E87654321")]
        documents += [(f"X{i}", "101", IDS[0]) for i in range(2000)]  # nobody sampled
        connection.executemany("insert into cust_cert values (?, ?, ?)", documents)

    def edit(document: dict[str, Any]) -> None:
        core = document["sources"]["core"]
        for field in ("id_type", "id_number"):
            del core["mapping"][field]
        del core["id_type_codes"]
        core["identifiers"] = {
            "table": "cust_cert",
            "key_column": "cust_id",
            "number_column": "cert_no",
            "type_column": "cert_tp",
            "type_codes": {"101": "resident_id"},
        }

    report = check(sources, edit)
    assert problem_lines(report) == [
        "core: identifiers.type_codes: 1 unmapped code in 'cert_tp': '999' (2 rows); add e.g. "
        "type_codes: {..., '999': unknown} under identifiers"
    ]
    core = report.sources[0]
    assert core.sampled["cust_cert"] == 8  # the sampled customers' documents only
    assert core.valid_id_share == 1.0

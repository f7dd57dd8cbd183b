"""The three checkpoints on tiny inline tables, with exact counts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from connectors.config import SourceConfig
from quality.catalogue import CrossSystemLink, QualityConfig
from quality.stages import (
    check_golden,
    check_owned_rows,
    check_raw,
    check_standardized,
    is_garbled,
    merged_pairs,
)
from quality.suites import RuleOutcome, SuiteRun

AS_OF = date(2026, 11, 28)
CORE = SourceConfig(
    trust_rank=1,
    connector="sql",
    url="sqlite:///unused.sqlite",
    party_table="cif_customer",
    key_column="cust_no",
    tables=["cif_customer", "dep_account"],
    mapping={
        "name": "cust_name",
        "id_number": "cert_no",
        "gender": "gender_cd",
        "birth_date": "birth_dt",
        "mobile": "mobile_no",
    },
    gender_codes={"1": "M", "2": "F"},
)
# A valid resident ID (check digit 5) of a man (17th digit 3 is odd) born 1985-03-07.
ID_1985_M = "130102198503071235"


def by_rule(runs: list[SuiteRun]) -> dict[str, RuleOutcome]:
    return {o.rule.rule_id: o for run in runs for o in run.outcomes}


@pytest.mark.parametrize(
    "text",
    [
        "张伟".encode().decode("gbk"),  # 寮犱紵: UTF-8 read as GBK
        "李娜 锟斤拷",  # U+FFFD bytes read as GBK
        "王\ufffd",
        "å¼ ä¼",  # UTF-8 read as Latin-1
        "张?",  # GBK encoder's replacement
    ],
)
def test_mis_decoded_text_is_recognised(text):
    assert is_garbled(text)


@pytest.mark.parametrize(
    "text",
    ["张伟", "張偉", "王喆", "欧阳婧", "ZHANG WEI", "José", "河北省石家庄市长安区中山路1号", ""],
)
def test_real_names_and_addresses_are_not_taken_for_garbled_text(text):
    assert not is_garbled(text)


def test_raw_rules_on_the_customer_table_and_the_row_counts():
    party = pd.DataFrame(
        {
            "cust_no": ["C1", "C2", "C3", "C3", None],
            "cust_name": ["张伟", "张伟".encode().decode("gbk"), "李娜", "李娜", "王芳"],
            "cert_no": [ID_1985_M, ID_1985_M, ID_1985_M, None, None],
            "gender_cd": ["1", "2", "1", None, "2"],
            # C2 states the day after the ID's; C3 a future date (also against its ID).
            "birth_dt": ["19850307", "19850308", "20310101", None, "1990年1月2日"],
            "mobile_no": ["13800138000"] * 5,
        }
    )
    runs = check_raw(
        "core",
        CORE,
        party,
        {"cif_customer": party, "dep_account": pd.DataFrame({"_batch_id": ["b"] * 7})},
        {"cif_customer": 5, "dep_account": 8},
        QualityConfig(),
        AS_OF,
    )
    rules = by_rule(runs)
    assert rules["raw.mapped_columns_present"].passed
    assert rules["raw.key_not_null"].failed == 1  # 1 of 5 = 20% > 5%
    assert not rules["raw.key_not_null"].passed
    assert (rules["raw.key_unique"].failed, rules["raw.key_unique"].passed) == (2, False)
    assert rules["raw.text_decoded"].failed == 1
    assert rules["raw.text_decoded"].examples == [
        "C2: garbled_text=" + "张伟".encode().decode("gbk")
    ]
    dates = rules["raw.birth_date_in_range"]
    assert (dates.evaluated, dates.failed) == (4, 1)
    assert dates.examples == ["C3: birth_date=2031-01-01 00:00:00, birth_date_text=20310101"]
    # Comparable: rows with a valid ID and a stated date (C1, C2, C3); C2 and C3 disagree.
    birth = rules["raw.birth_date_matches_id"]
    assert (birth.evaluated, birth.failed, birth.passed) == (3, 2, False)
    assert "C2: birth_date_conflict=stated 1985-03-08, ID says 1985-03-07" in birth.examples
    gender = rules["raw.gender_matches_id"]
    assert (gender.evaluated, gender.failed) == (3, 1)  # C2 states F, the ID says M
    # Row counts: the customer table matches, dep_account lost one row on the way.
    counts = [o for run in runs for o in run.outcomes if o.rule.target == "every_table"]
    assert [(o.passed, o.failed) for o in counts] == [(True, 0), (False, 1)]


def test_a_source_that_cannot_be_counted_fails_the_row_count_with_the_reason():
    party = pd.DataFrame({"cust_no": ["C1"], "cust_name": ["张伟"]})
    runs = check_raw(
        "core",
        CORE,
        party,
        {"cif_customer": party},
        {"cif_customer": "source row count unavailable: no such table"},
        QualityConfig(),
        AS_OF,
    )
    count = by_rule(runs)["raw.row_count_matches_source"]
    assert not count.passed
    assert count.examples == ["cif_customer: source row count unavailable: no such table"]


def test_standardized_rules_are_judged_per_source():
    party = pd.DataFrame(
        {
            "record_key": ["core:1", "core:2", "crm:1"],
            "source_system": ["core", "core", "crm"],
            "source_record_id": ["1", "2", "1"],
            "id_valid": [True, True, False],
            "id_number": [ID_1985_M, ID_1985_M, None],
            "id_issue": [None, None, "missing"],
            "mobile": ["13800138000", None, None],
            "birth_date": pd.to_datetime(["1985-03-07", None, None]),
            "source_updated_at": pd.to_datetime(["2026-01-01", "2026-02-01", "2010-01-01"]),
        }
    )
    quarantine = pd.DataFrame(
        {"source_system": ["crm"], "source_record_id": ["9"], "rule": ["junk_name"]}
    )
    runs = check_standardized(party, quarantine, ["core", "crm"], QualityConfig(), AS_OF)
    assert [(r.source_system, r.batch) for r in runs] == [
        ("core", "party_records"),
        ("core", "source_rows"),
        ("crm", "party_records"),
        ("crm", "source_rows"),
    ]
    core, crm = by_rule(runs[:2]), by_rule(runs[2:])
    assert core["std.valid_resident_id_share"].passed
    assert not crm["std.valid_resident_id_share"].passed  # 0 of 1 valid
    # crm: 1 of 2 rows quarantined, 50% > 5%; the example names the rule.
    assert (crm["std.quarantine_rate"].failed, crm["std.quarantine_rate"].passed) == (1, False)
    assert crm["std.quarantine_rate"].examples == ["9: rule=junk_name"]
    assert core["std.quarantine_rate"].passed
    # crm's only record was last updated in 2010, beyond 1095 days.
    assert (crm["std.updated_recently"].failed, crm["std.updated_recently"].passed) == (1, False)


def golden_frame(rows: list[tuple[str, str, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "golden_id": g,
                "status": status,
                "id_type": "resident_id" if id_number else None,
                "id_number": id_number,
                "name": "张伟",
                "birth_date": pd.Timestamp("1985-03-07"),
                "gender": "M",
                "mobile": "13800138000",
            }
            for g, status, id_number in rows
        ]
    )


def test_golden_rules_find_orphans_unlinked_records_and_shared_ids():
    golden = golden_frame(
        [
            ("G1", "active", ID_1985_M),
            ("G2", "active", ID_1985_M),  # the same resident ID: a missed merge
            ("G3", "active", None),  # no source record points to it
            ("G4", "retired", None),
        ]
    )
    xref = pd.DataFrame(
        {
            "record_key": ["core:1", "crm:1", "crm:2", "crm:2"],  # crm:2 twice
            "source_system": ["core", "crm", "crm", "crm"],
            "source_record_id": ["1", "1", "2", "2"],
            "golden_id": ["G1", "G2", "G1", "G4"],  # G4 is retired
        }
    )
    party = pd.DataFrame({"record_key": ["core:1", "crm:1", "crm:2", "credit:7"]})
    truth = pd.DataFrame(
        {"record_key": ["core:1", "crm:1", "crm:2"], "person_id": ["p1", "p2", "p1"]}
    )
    rules = by_rule(check_golden(golden, xref, party, QualityConfig(), truth=truth))
    assert (rules["golden.no_orphan_golden"].failed, rules["golden.no_orphan_golden"].examples) == (
        1,
        ["G3: source_records=0"],
    )
    assert rules["golden.resident_id_unique_among_active"].failed == 2
    assert rules["golden.one_golden_per_record"].failed == 2  # both rows of crm:2
    # credit:7 has no xref; crm:2's link to retired G4 does not count, its link to G1 does.
    linked = rules["golden.every_record_linked"]
    assert (linked.evaluated, linked.failed) == (5, 2)
    assert rules["golden.id_number_complete"].failed == 1  # G3
    # G1 holds core:1 and crm:2 (p1, p1): one true pair; precision 1.0.
    assert (rules["golden.match_precision"].evaluated, rules["golden.match_precision"].failed) == (
        1,
        0,
    )


def test_merged_pairs_are_judged_against_the_reference_only_when_both_are_known():
    xref = pd.DataFrame({"record_key": ["a", "b", "c", "d"], "golden_id": ["G1", "G1", "G1", "G2"]})
    truth = pd.DataFrame({"record_key": ["a", "b", "c"], "person_id": ["p1", "p1", "p2"]})
    pairs = merged_pairs(xref, truth)
    assert sorted(zip(pairs["pair"], pairs["_dq_same_person"], strict=True)) == [
        ("a ~ b", True),
        ("a ~ c", False),
        ("b ~ c", False),
    ]


def test_loans_and_accounts_must_resolve_to_an_active_golden_record():
    link = CrossSystemLink(system="credit", table="LOAN", column="BORROWER_ID")
    loans = pd.DataFrame({"BORROWER_ID": ["BR1", "BR2", "BR3", " BR1 ", None]})
    borrowers = pd.Series(["BR1", "BR2"])
    xref = pd.DataFrame(
        {
            "source_system": ["credit", "credit", "core"],
            "source_record_id": ["BR1", "BR2", "BR3"],
            "golden_id": ["G1", "G9", "G3"],
        }
    )
    run = check_owned_rows(link, loans, borrowers, xref, {"G1", "G3"}, QualityConfig())
    rules = by_rule([run])
    # BR3 is not a borrower, the NULL owner neither: 2 of 5.
    assert (rules["golden.owner_in_source"].failed, rules["golden.owner_in_source"].passed) == (
        2,
        False,
    )
    # Only BR1 (twice) resolves: G9 is not active, BR3's xref row is another system's.
    assert rules["golden.owner_has_golden"].failed == 3
    assert run.source_system == "credit" and run.batch == "LOAN"


def test_source_tables_are_counted_apart_from_the_extract(tmp_path: Path):
    import sqlite3

    from connectors.source_counts import count_source_rows

    database = tmp_path / "core.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("create table cif_customer (cust_no text, last_upd_ts text)")
        connection.executemany(
            "insert into cif_customer values (?, ?)",
            [("C1", "2026-01-01"), ("C2", "2026-06-01"), ("C3", "2026-11-01")],
        )
    sql = CORE.model_copy(update={"url": f"sqlite:///{database}"})
    assert count_source_rows(sql, "cif_customer") == 3
    assert (
        count_source_rows(sql, "cif_customer", watermark_column="last_upd_ts", since="2026-05-01")
        == 2
    )
    folder = tmp_path / "crm"
    folder.mkdir()
    # A quoted line break is one record; a blank line is no record (pandas skips it too).
    (folder / "crm_customers.csv").write_bytes(
        '客户编号,联系地址\nCRM1,"河北省\n石家庄市"\n\nCRM2,北京市\n'.encode("gbk")
    )
    csv_source = SourceConfig(
        trust_rank=3,
        connector="csv",
        path=folder,
        encoding="gbk",
        party_table="crm_customers",
        key_column="客户编号",
        mapping={"name": "姓名"},
    )
    assert count_source_rows(csv_source, "crm_customers") == 2

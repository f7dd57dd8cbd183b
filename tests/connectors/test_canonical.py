"""Activity rows onto the canonical entities: typed, deduplicated, nothing lost or silent."""

import pandas as pd

from connectors.canonical import canonicalize, empty_table, table_dtypes
from connectors.config import EntityMapping
from connectors.entities import ENTITIES

TICKETS = EntityMapping(
    table="TICKETS",
    mapping={
        "ticket_id": "TKT_NO",
        "customer_no": "CUST",
        "category": "KIND",
        "created_at": "OPENED",
        "csat": "SCORE",
        "updated_at": "CHANGED",
    },
    codes={"category": {"CMPL": "complaint", "INQ": "inquiry"}},
)


def tickets(*rows: dict) -> pd.DataFrame:
    base = {
        "TKT_NO": "T1",
        "CUST": "C1",
        "KIND": "CMPL",
        "OPENED": "2025-07-30 18:38:09.096169+08",
        "SCORE": "5",
        "CHANGED": "2025-07-30 19:00:00",
    }
    return pd.DataFrame([{**base, **row} for row in rows])


def run(raw: pd.DataFrame, mapping: EntityMapping = TICKETS, entity: str = "service_ticket"):
    return canonicalize(
        raw,
        system="cards",
        entity_name=entity,
        mapping=mapping,
        batch_id="b1",
        now=pd.Timestamp("2026-01-01"),
    )


def test_a_row_becomes_typed_canonical_columns_with_keys_of_its_source():
    result = run(tickets({}))
    row = result.rows.iloc[0]
    assert list(result.rows.columns) == list(table_dtypes(ENTITIES["service_ticket"]))
    assert (row["record_key"], row["owner_record_key"]) == ("cards:T1", "cards:C1")
    assert row["category"] == "complaint"
    assert row["csat"] == 5
    assert row["created_at"] == pd.Timestamp("2025-07-30 18:38:09.096169")
    assert result.parse_failures == {} and result.unmapped_codes == {}


def test_unparseable_values_are_counted_and_unknown_codes_are_other_with_their_count():
    result = run(
        tickets(
            {"TKT_NO": "T1", "SCORE": "five", "KIND": "XX"},
            {"TKT_NO": "T2", "OPENED": "yesterday", "KIND": "XX"},
            {"TKT_NO": "T3", "KIND": "inquiry", "SCORE": "4.5"},
        )
    )
    assert result.parse_failures == {"csat": 2, "created_at": 1}
    assert result.unmapped_codes == {"category": {"XX": 2}}
    assert result.rows["category"].tolist() == ["other", "other", "inquiry"]
    assert result.row_checks["_dq_values_parse"].tolist() == [False, False, False]
    assert result.row_checks["_dq_codes_known"].tolist() == [False, False, True]


def test_every_raw_row_is_kept_or_rejected_with_its_rule():
    result = run(
        tickets(
            {"TKT_NO": "T1", "CHANGED": "2025-01-01 00:00:00"},
            {"TKT_NO": "T1", "CHANGED": "2025-02-01 00:00:00", "SCORE": "3"},
            {"TKT_NO": None},
            {"TKT_NO": "T9", "CUST": " "},
        )
    )
    assert result.rows["record_key"].tolist() == ["cards:T1"]
    assert result.rows["csat"].tolist() == [3]  # the latest version of T1
    assert sorted(result.rejected["rule"]) == ["duplicate_key", "missing_key", "missing_owner"]
    assert len(result.rows) + len(result.rejected) == 4
    assert result.rejected["raw_payload"].notna().all()


def test_balances_with_separators_and_currency_signs_parse():
    mapping = EntityMapping(
        table="ACCT",
        mapping={"account_no": "NO", "customer_no": "CUST", "balance": "BAL"},
    )
    raw = pd.DataFrame(
        {"NO": ["A1", "A2", "A3"], "CUST": ["C1", "C1", "C2"], "BAL": ["1,234.50", "¥88", "n/a"]}
    )
    result = run(raw, mapping, "account")
    assert result.rows["balance"].tolist()[:2] == [1234.5, 88.0]
    assert result.parse_failures == {"balance": 1}


def test_an_unmapped_entity_is_an_empty_table_with_the_canonical_columns():
    empty = empty_table(ENTITIES["loan"])
    assert len(empty) == 0
    assert empty.dtypes.astype(str).to_dict() == table_dtypes(ENTITIES["loan"])

"""Partially masked resident IDs (`440***********1234`): kept as written, never checked."""

from pathlib import Path

import pandas as pd
import pytest
import yaml

from matching.standardize import SourceMapping, normalize_resident_ids, standardize_source
from matching.standardize.ids import clean_document_numbers, document_types_by_shape

NOW = pd.Timestamp("2025-06-01")
CONFIG = yaml.safe_load((Path(__file__).parents[3] / "mdm.yaml").read_text(encoding="utf-8"))
CORE = SourceMapping.from_config("core", CONFIG["sources"]["core"])


def one(value: str | None) -> dict:
    return normalize_resident_ids(pd.Series([value], dtype=object), now=NOW).iloc[0].to_dict()


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("440***********1234", "440***********1234"),
        ("440＊＊＊＊＊＊＊＊＊＊＊1234", "440***********1234"),  # full-width asterisks
        ("440###########1234", "440***********1234"),
        ("440301********123x", "440301********123X"),  # the check character stays visible
        ("4403xxxxxxxxxx123X", "4403**********123X"),  # a run of x is a mask, the last X not
        ("4403XXXXXXXXXXXXXX", "4403**************"),  # a run reaching the end masks it too
        ("440 *** *** ***** 1234", "440***********1234"),
        ("440301******123", "440301******123"),  # 15 positions: a first-generation ID
        ("440301*****12X", None),  # 14 positions: no resident ID's shape
    ],
)
def test_a_masked_resident_id_is_kept_with_its_mask_as_asterisks(written, kept):
    row = one(written)
    if kept is None:
        assert row["id_issue"] == "bad_characters"
        return
    assert (row["id_number"], row["id_valid"], row["id_issue"]) == (kept, False, "masked")
    # Never checked: no birth date or gender is read out of the visible digits.
    assert pd.isna(row["id_birth_date"]) and row["id_gender"] is None


@pytest.mark.parametrize(
    ("written", "number", "issue"),
    [
        ("11010519491231002X", "11010519491231002X", None),  # the check character X
        ("11010519491231002x", "11010519491231002X", None),
        ("1101051949123X002X", "1101051949123X002X", "bad_characters"),  # one stray X: a typo
        ("13010285030712X", "13010285030712X", "bad_characters"),
    ],
)
def test_an_x_that_is_no_mask_is_left_alone(written, number, issue):
    row = one(written)
    assert (row["id_number"], row["id_issue"]) == (number, issue)


def test_a_masked_number_is_shaped_like_a_resident_id_and_other_documents_are_not():
    cleaned = clean_document_numbers(
        pd.Series(["440***********1234", "440301******123", "440***1234", "E1234****"])
    )
    assert document_types_by_shape(cleaned).tolist() == [
        "resident_id",
        "resident_id",
        "other",
        "other",
    ]


def core_row(key: str, **change: str | None) -> dict:
    row = {
        "cust_no": key,
        "cust_name": None,
        "cert_type": "01",
        "cert_no": "440***********1234",
        "gender_cd": None,
        "birth_dt": None,
        "mobile_no": "13800138000",
        "addr": None,
        "open_branch_no": "B0001",
        "open_dt": "2010-01-01",
        "last_upd_ts": "2024-05-01 10:00:00",
        "_batch_id": "b1",
        "_row_hash": key,
        "_extracted_at": "2024-06-01",
    }
    return {**row, **change}


def test_a_nameless_record_with_a_masked_id_and_a_mobile_is_kept_as_a_resident_id():
    raw = pd.DataFrame(
        [
            core_row("C1"),
            core_row(
                "C2", cert_type=None, cert_no="4403＊＊＊＊＊＊＊＊＊＊123X", birth_dt="19900101"
            ),
            core_row("C3", cert_type="02", cert_no="E1234****"),  # a masked passport: kept too
        ]
    )
    result = standardize_source(raw, CORE, batch_id="b1", now=NOW)
    assert result.quarantine.empty
    records = result.records.set_index("source_record_id")
    assert records.loc["C1", ["id_type", "id_number", "id_valid", "id_issue"]].tolist() == [
        "resident_id",
        "440***********1234",
        False,
        "masked",
    ]
    # Without a type code the masked number's shape says resident ID; the stated birth date
    # is kept, nothing is filled from the ID.
    assert records.loc["C2", ["id_type", "id_number", "id_issue"]].tolist() == [
        "resident_id",
        "4403**********123X",
        "masked",
    ]
    assert records.loc["C2", "birth_date"] == pd.Timestamp("1990-01-01")
    assert pd.isna(records.loc["C1", "birth_date"]) and records.loc["C1", "gender"] is None
    assert not records["id_conflict"].any()
    assert records.loc["C3", ["id_type", "id_number", "id_issue"]].tolist() == [
        "passport",
        "E1234****",
        "not_resident_id",
    ]

"""Masking and lookup-key normalization (pure functions)."""

from __future__ import annotations

import pytest

from golden_record_api.masking import mask_id_number, mask_phone, mask_row
from golden_record_api.normalize import normalize_mobile, normalize_name, normalize_resident_id


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13010219850307003X", "130102********003X"),
        ("130102850307003", "130102********7003"),
        ("E12345678", "E1*****78"),
        ("123", "***"),
        ("", ""),
        (None, None),
    ],
)
def test_mask_id_number(value: str | None, masked: str | None) -> None:
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13800138000", "138****8000"),
        ("031187654321", "031*****4321"),
        ("12345", "*****"),
        (None, None),
    ],
)
def test_mask_phone(value: str | None, masked: str | None) -> None:
    assert mask_phone(value) == masked


def test_mask_row_masks_only_c2_text_columns() -> None:
    row = {"id_number": "13010219850307003X", "mobile": None, "name": "张伟", "source_count": 2}

    assert mask_row(row) == {
        "id_number": "130102********003X",
        "mobile": None,
        "name": "张伟",
        "source_count": 2,
    }
    assert row["id_number"] == "13010219850307003X"  # the input is not changed


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        (" 130102 19850307 003x ", "13010219850307003X"),
        ("１３０１０２１９８５０３０７００３ｘ", "13010219850307003X"),  # full-width
        ("130102850307003", "13010219850307003X"),  # 15 → 18 with the check digit
    ],
)
def test_normalize_resident_id(raw: str, normalized: str) -> None:
    assert normalize_resident_id(raw) == normalized


@pytest.mark.parametrize(
    "raw", ["+86 138-0013-8000", "+8613800138000", "0086 13800138000", "8613800138000"]
)
def test_normalize_mobile(raw: str) -> None:
    assert normalize_mobile(raw) == "13800138000"


@pytest.mark.parametrize(
    ("raw", "normalized"), [(" 张 伟 ", "张伟"), ("zhang  wei", "ZHANG WEI"), ("张伟", "张伟")]
)
def test_normalize_name(raw: str, normalized: str) -> None:
    assert normalize_name(raw) == normalized


LOOKUP_IDS = [
    " 130102 19850307 003x ",
    "１３０１０２１９８５０３０７００３ｘ",
    "130102850307003",
    "130102-1990",
]
LOOKUP_MOBILES = ["+86 138-0013-8000", "+8613800138000", "0086 13800138000", "8613800138000"]


def test_lookup_normalization_agrees_with_the_pipelines() -> None:
    # The API normalizes lookup keys locally (no pandas per request); this guards against it
    # drifting from how `matching.standardize` normalizes the stored values.
    pd = pytest.importorskip("pandas")
    ids = pytest.importorskip("matching.standardize.ids")
    phones = pytest.importorskip("matching.standardize.phones")
    if not hasattr(ids, "normalize_resident_ids") or not hasattr(phones, "normalize_phones"):
        pytest.skip("matching.standardize has no normalize_resident_ids / normalize_phones")

    stored_ids = ids.normalize_resident_ids(pd.Series(LOOKUP_IDS))["id_number"].tolist()
    stored_mobiles = phones.normalize_phones(pd.Series(LOOKUP_MOBILES))["mobile"].tolist()

    assert [normalize_resident_id(raw) for raw in LOOKUP_IDS] == stored_ids
    assert [normalize_mobile(raw) for raw in LOOKUP_MOBILES] == stored_mobiles

"""Masking and lookup-key normalization (pure functions)."""

from __future__ import annotations

import pytest

from golden_record_api.masking import mask_id_number, mask_phone, mask_row


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

"""A lookup value is normalized to exactly what the standardizer stores for the same input."""

from __future__ import annotations

import pandas as pd
import pytest

from matching.standardize import normalize_phones, normalize_resident_ids, standardize_names
from matching.standardize.lookup import lookup_mobile, lookup_name, lookup_resident_id


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (" 130102 19850307 003x ", "13010219850307003X"),
        ("１３０１０２１９８５０３０７００３ｘ", "13010219850307003X"),  # full-width
        ("130102850307003", "13010219850307003X"),  # 15 → 18 with the check digit
        ("E12345678", "E12345678"),  # a passport is looked up as written
        (" - ", None),
    ],
)
def test_resident_id(raw: str, stored: str | None) -> None:
    assert lookup_resident_id(raw) == stored


@pytest.mark.parametrize(
    "raw", ["+86 138-0013-8000", "+8613800138000", "0086 13800138000", "8613800138000"]
)
def test_mobile(raw: str) -> None:
    assert lookup_mobile(raw) == "13800138000"


def test_a_landline_is_no_mobile() -> None:
    assert lookup_mobile("010-12345678") is None


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (" 张 伟 ", ("张伟", None)),
        ("張偉", ("张伟", None)),  # traditional characters
        ("zhang  wei", ("ZHANG WEI", "zhang wei")),
        ("Wei ZHANG", ("ZHANG WEI", "zhang wei")),  # given name first
        ("123", (None, None)),
    ],
)
def test_name(raw: str, stored: tuple[str | None, str | None]) -> None:
    assert lookup_name(raw) == stored


WRITTEN = ["张 伟", "Wei Zhang", "+86 138-0013-8000", "130102850307003", "張偉", "E12345678"]


def test_lookups_agree_with_the_column_functions() -> None:
    values = pd.Series(WRITTEN, dtype=object)
    ids = normalize_resident_ids(values)["id_number"]
    mobiles = normalize_phones(values)["mobile"]
    names = standardize_names(values)["name"]

    def stored(column: pd.Series) -> list[str | None]:
        return [None if pd.isna(v) else str(v) for v in column]

    assert [lookup_resident_id(v) for v in WRITTEN] == stored(ids)
    assert [lookup_mobile(v) for v in WRITTEN] == stored(mobiles)
    assert [lookup_name(v)[0] for v in WRITTEN] == stored(names)

"""A lookup value is normalized to exactly what the standardizer stores for the same input."""

from __future__ import annotations

import pandas as pd
import pytest

from matching.standardize import normalize_phones, normalize_resident_ids, standardize_names
from matching.standardize.lookup import lookup_mobile, lookup_name, lookup_resident_id
from tests.matching.standardize.synthetic import synthetic_core_rows


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


def _written_forms(n: int) -> list[str]:
    """IDs, mobiles and names as the simulated core system holds them, and as callers type
    them: full-width, spaced, dashed, `+86` / `0086`, lower-case x, masked, foreign, junk."""
    rows = synthetic_core_rows(n)
    ids = [v for v in rows["cert_no"] if v is not None]
    mobiles = list(rows["mobile_no"])
    names = list(rows["cust_name"])
    full_width = str.maketrans("0123456789X", "０１２３４５６７８９ｘ")
    written = [*ids, *mobiles, *names]
    for i, (number, mobile) in enumerate(zip(ids, mobiles, strict=False)):
        written += [
            f"{number[:6]} {number[6:14]}-{number[14:]}".lower(),
            number.translate(full_width) if i % 2 else f"（{number}）",
            f"{number[:3]}{'*' * (len(number) - 7)}{number[-4:]}" if i % 5 == 0 else number[:-1],
            f"0086 {mobile}" if i % 3 == 0 else f"86{mobile}",
            f"+86 ({mobile[:3]}) {mobile[3:7]}.{mobile[7:]}".translate(full_width),
            f"{mobile}/{mobiles[i - 1]}" if i % 4 == 0 else f"{mobile} 转123",
        ]
    return [
        *written,
        "+852 9123 4567",
        "00853-66123456",
        "85291234567",
        "13800000000",
        "+86 139 8888 8888",
        "400-800-1234",
        "０３１１－８５５５１２３４",
        "440***********1234",
        "4403xxxxxxxx1234X",
        "H12345678",
        "EA1234567",
        "ＡＢＣ123456789012",
        "Wei ZHANG",
        "ZHANG  wei",
        "欧阳 娜娜",
        "张伟（先生）",
        "測試",
        "   ",
        "",
        "\t",
        "-",
        "??",
    ]


@pytest.mark.slow  # 15 s: `make test` runs it, `make test-fast` leaves it out
def test_one_value_paths_agree_with_the_column_functions_on_a_sample() -> None:
    written = _written_forms(400)
    values = pd.Series(written, dtype=object)
    ids = normalize_resident_ids(values)["id_number"]
    mobiles = normalize_phones(values)["mobile"]
    names = standardize_names(values)

    def stored(column: pd.Series) -> list[str | None]:
        return [None if pd.isna(v) else str(v) for v in column]

    latin = names["name_script"].eq("latin")
    pinyin = names["name_pinyin"].where(latin)
    assert [lookup_resident_id(v) for v in written] == stored(ids)
    assert [lookup_mobile(v) for v in written] == stored(mobiles)
    assert [lookup_name(v) for v in written] == list(
        zip(stored(names["name"]), stored(pinyin), strict=True)
    )
    # The sample reaches every path: upgraded, masked, mainland and HK mobiles, latin names.
    assert ids.str.len().eq(18).sum() > 400 and ids.str.contains("*", regex=False).any()
    assert mobiles.str.startswith("+852").any() and latin.any()

"""Match keys: derived on first use by RecordColumns, NULL where a record cannot have one."""

from __future__ import annotations

import pandas as pd

from matching.comparison import RecordColumns

FRAME = pd.DataFrame(
    {
        "id_number": ["11010519491231002X", "130102850307123", None],
        "id_conflict": [False, True, False],
        "birth_date": pd.to_datetime(["1949-12-31", None, "1980-01-02"]),
        "name": ["乔淑珍", "张伟", None],
        "name_pinyin": ["qiao shu zhen", "ouyang jing", None],
        "mobile": ["13812345678", None, "13900000001"],
    }
)


def values(column: str) -> list[object]:
    """Each record's key, None where it has none (NA, NaN or None, by the key's type)."""
    columns = RecordColumns(FRAME)
    out = [columns.value(column, row) for row in range(len(FRAME))]
    return [None if pd.isna(value) else value for value in out]


def test_id_keys_take_apart_an_eighteen_character_id_only():
    assert values("id_without_area") == [19491231002, None, None]
    assert values("id_without_birth_year") == [1101051231002, None, None]
    assert values("id_without_birth_day") == [1101051949002, None, None]
    assert values("id_without_sequence") == [11010519491231, None, None]
    # Two swapped digits after the area code give the same key.
    assert values("id_sorted_digits")[0] == 11010500111223499
    # The body without the check character; a 15-digit number stays whole.
    assert values("id_body")[:2] == ["11010519491231002", "130102850307123"]


def test_an_id_its_record_contradicts_is_not_consistent():
    columns = RecordColumns(FRAME)
    assert (columns.codes("id_consistent") >= 0).tolist() == [True, False, False]


def test_name_birth_date_and_mobile_keys():
    assert values("surname_pinyin") == ["qiao", "ouyang", None]
    assert values("name_masked_2") == ["乔_珍", "张_", None]
    assert values("name_masked_3")[:2] == ["乔淑_", None]  # a two-character name has no third
    assert values("birth_year") == [1949, None, 1980]
    assert values("mobile_head") == [1381234, None, 1390000]
    assert values("mobile_tail") == [12345678, None, 1]

"""Properties of the resident-ID and mobile rules over generated values (hypothesis).

Each example holds a batch of values checked in one vectorized call: the functions under test
work on whole columns, and a call costs ~20 ms whatever its size, so batches keep the file
fast while checking thousands of values.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.standardize import normalize_phones, normalize_resident_ids
from matching.standardize.addresses import admin_divisions
from matching.standardize.ids import check_digits

TODAY = pd.Timestamp.now().normalize()
AREA_CODES = sorted(admin_divisions()["adcode"].unique())
FULL_WIDTH = str.maketrans("0123456789+-", "０１２３４５６７８９＋－")
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def with_check_digit(first17: list[str]) -> list[str]:
    return [a + c for a, c in zip(first17, check_digits(pd.Series(first17)), strict=True)]


@st.composite
def first_seventeen(draw: st.DrawFn, earliest: date, latest: date) -> str:
    """Area code of a real division, a real birth date, any sequence."""
    area = draw(st.sampled_from(AREA_CODES))
    birth = draw(st.dates(min_value=earliest, max_value=latest))
    sequence = draw(st.integers(0, 999))
    return f"{area}{birth:%Y%m%d}{sequence:03d}"


ANY_BIRTH = first_seventeen(date(1900, 1, 1), TODAY.date())
BORN_1900S = first_seventeen(date(1900, 1, 1), date(1999, 12, 31))


def check(values: list[str]) -> pd.DataFrame:
    return normalize_resident_ids(pd.Series(values), now=TODAY)


@SETTINGS
@given(st.lists(ANY_BIRTH, min_size=1, max_size=30))
def test_every_generated_valid_id_validates(first17s):
    ids = with_check_digit(first17s)
    out = check(ids)
    assert out["id_valid"].all(), out[~out["id_valid"]]
    assert out["id_issue"].isna().all()
    assert out["id_number"].tolist() == ids
    births = pd.to_datetime([i[6:14] for i in ids], format="%Y%m%d")
    assert (out["id_birth_date"].to_numpy() == births.to_numpy()).all()


@SETTINGS
@given(ANY_BIRTH)
def test_every_single_character_change_of_a_valid_id_is_caught(first17):
    # All 17 * 9 digit changes plus the 10 other check characters, for each generated ID.
    original = with_check_digit([first17])[0]
    changed = [
        original[:i] + c + original[i + 1 :]
        for i in range(18)
        for c in ("0123456789X" if i == 17 else "0123456789")
        if c != original[i]
    ]
    assert len(changed) == 17 * 9 + 10
    out = check(changed)
    assert not out["id_valid"].any(), out[out["id_valid"]]
    caught = {"bad_check_digit", "bad_birth_date", "bad_area_code"}
    assert set(out["id_issue"]) <= caught


@SETTINGS
@given(st.lists(BORN_1900S, min_size=1, max_size=30))
def test_fifteen_digit_upgrade_round_trips(first17s):
    ids = with_check_digit(first17s)
    fifteen = [i[:6] + i[8:17] for i in ids]  # drop the century and the check digit
    out = check(fifteen)
    assert out["id_number"].tolist() == ids
    assert out["id_valid"].all()
    assert set(out["id_issue"]) == {"upgraded_from_15"}
    births = pd.to_datetime([i[6:14] for i in ids], format="%Y%m%d")
    assert (out["id_birth_date"].to_numpy() == births.to_numpy()).all()
    genders = ["M" if int(i[16]) % 2 else "F" for i in ids]
    assert out["id_gender"].tolist() == genders


MOBILES = st.builds(
    lambda second, rest: f"1{second}{rest:09d}",
    st.sampled_from("3456789"),
    st.integers(0, 10**9 - 1),
).filter(lambda mobile: len(set(mobile[3:])) > 1)  # placeholders become NULL (test_phones)


@st.composite
def written_mobile(draw: st.DrawFn) -> tuple[str, str]:
    """(as a clerk or customer typed it, the 11 digits)."""
    mobile = draw(MOBILES)
    prefix = draw(st.sampled_from(["", "+86", "0086", "86", "(+86)", "+86-", "86-", "0086 "]))
    gap = draw(st.sampled_from(["", " ", "-", ".", "\u3000", "－", " - "]))
    groups = draw(st.sampled_from([(3, 4, 4), (3, 8), (11,), (3, 3, 5)]))
    parts, start = [], 0
    for size in groups:
        parts.append(mobile[start : start + size])
        start += size
    body = gap.join(parts)
    text = prefix + draw(st.sampled_from(["", " "])) + body if prefix else body
    if draw(st.booleans()):
        text = text.translate(FULL_WIDTH)
    padding = draw(st.sampled_from(["", " ", "\t"]))
    return padding + text + padding, mobile


@SETTINGS
@given(st.lists(written_mobile(), min_size=1, max_size=30))
def test_a_written_mobile_normalizes_back_to_its_eleven_digits(written):
    out = normalize_phones(pd.Series([text for text, _ in written]))
    assert out["mobile"].tolist() == [mobile for _, mobile in written]
    assert set(out["phone_kind"]) == {"mobile"}

"""A record's stated birth date and gender held against its own resident ID: the one home of
that rule, used by standardization (`party.py`) and by the raw quality checks.

An 18-digit resident ID states a birth date and a gender (GB 11643-1999), and so does the
record around it. When they disagree, the kind of disagreement says which one is wrong:

* **near** (day and month swapped, one digit of YYYYMMDD different, or at most
  `NEAR_BIRTH_DATE_DAYS` apart, as a lunar-calendar birthday written for the solar one is): a
  slip in the stated date. A verified ID (its check digit proves it was copied right) is taken.
* **far** (anything else, e.g. 1958 stated, 1986 in the ID): the ID is most likely somebody
  else's: a relative's (a parent's record carrying the child's ID, common in legacy CRMs) or a
  typo that still passed the check digit. Taking the ID's date would erase the very evidence
  that exposes it, so the stated date is kept and the record is flagged `id_conflict`:
  matching then does not count an agreement on that ID as proof of identity.

A stated gender that disagrees with the ID is the same kind of evidence (a husband's record
carrying his wife's ID; twins of either sex, whose birth dates agree): the ID conflicts with
its record. Unless the whole batch disagrees too often (`MAX_GENDER_DISAGREEMENT`): then the
source's gender codes are mapped the wrong way round, the stated genders are what is wrong,
and the ID's replace them. With a conflicted or unverified ID the stated gender stays. An ID
upgraded from 15 digits has no check digit of its own, so it only fills values the record
does not state.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from unicodedata import normalize

import numpy as np
import pandas as pd

from matching.standardize._text import as_text, nfkc, none_if_nan, on_uniques, text_of

#: A stated birth date at most this many days from the ID's is a slip, not another person: the
#: lunar-calendar birthday falls 15-50 days before the solar one.
NEAR_BIRTH_DATE_DAYS = 60

#: Above this share of disagreeing genders among a batch's records with a valid ID (and at
#: least `MIN_GENDER_SAMPLE` of them), the gender codes are taken to be mis-mapped.
MAX_GENDER_DISAGREEMENT = 0.2
MIN_GENDER_SAMPLE = 20

#: GB/T 2261.1 codes and the spellings every source uses; a source's `gender_codes` add to these.
GENDER_CODES: dict[str, str] = {
    "M": "M",
    "F": "F",
    "男": "M",
    "女": "F",
    "1": "M",
    "2": "F",
    "MALE": "M",
    "FEMALE": "F",
}


#: A source's code mapped to this says nothing about the gender (`U`, `0`, `9` 未说明): NULL,
#: and not counted as a code nobody explained.
UNKNOWN_CODE = "unknown"


def gender_codes(source_codes: Mapping[str, str] | None) -> dict[str, str]:
    """The codes a source's genders are decoded by: `GENDER_CODES` and the source's own."""
    codes = dict(GENDER_CODES)
    codes.update({str(k).strip().upper(): str(v) for k, v in (source_codes or {}).items()})
    return codes


def decode_gender(raw: object, codes: Mapping[str, str]) -> tuple[str | None, bool]:
    """`decode_genders` for one value, with the source's `gender_codes`: (gender, unknown)."""
    text = text_of(raw)
    if text is None:
        return None, False
    decoded = codes.get(normalize("NFKC", text).strip().upper())
    return (None if decoded == UNKNOWN_CODE else decoded), decoded is None


def decode_genders(values: pd.Series, source_codes: Mapping[str, str] | None) -> pd.DataFrame:
    """`gender` (`M` / `F` / None) and `unknown` (a value no code explains), per row; a code
    the source declares `unknown` gives None without being counted."""
    codes = gender_codes(source_codes)

    def decode(distinct: pd.Series) -> pd.DataFrame:
        decoded = nfkc(distinct).str.strip().str.upper().map(codes)
        gender = decoded.where(decoded != UNKNOWN_CODE)
        return pd.DataFrame({"gender": none_if_nan(gender), "unknown": decoded.isna()})

    return on_uniques(as_text(values), decode)


def _ymd(dates: pd.Series) -> np.ndarray:
    """YYYYMMDD integers, -1 where missing."""
    values = pd.to_datetime(dates)
    out = (values.dt.year * 10_000 + values.dt.month * 100 + values.dt.day).to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    return np.where(np.isnan(out), -1, out).astype(np.int64)


def birth_date_agreement(stated: pd.Series, from_id: pd.Series) -> pd.Series:
    """Per row `same`, `near`, `far`, or None when either date is missing (see the module)."""
    a, b = _ymd(stated), _ymd(from_id)
    both = (a >= 0) & (b >= 0)
    digits_differing = np.zeros(len(a), dtype=np.int64)
    x, y = a.copy(), b.copy()
    for _ in range(8):
        digits_differing += (x % 10) != (y % 10)
        x //= 10
        y //= 10
    swapped = (
        (a // 10_000 == b // 10_000) & (a // 100 % 100 == b % 100) & (a % 100 == b // 100 % 100)
    )
    apart = np.abs(
        (pd.to_datetime(stated) - pd.to_datetime(from_id)).dt.days.to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    )
    near = swapped | (digits_differing <= 1) | (apart <= NEAR_BIRTH_DATE_DAYS)
    out = np.where(a == b, "same", np.where(near, "near", "far")).astype(object)
    out[~both] = None
    return pd.Series(out, index=stated.index, dtype=object)


def reconcile_with_id(
    stated_birth: pd.Series, stated_gender: pd.Series, ids: pd.DataFrame
) -> pd.DataFrame:
    """The record's birth date and gender after holding them against its resident ID.

    Inputs on one index: the stated values (parsed) and `ids` as `normalize_resident_ids`
    returns them (`id_birth_date` and `id_gender` are NaT / None unless the ID is valid; an ID
    is verified when valid with a check digit of its own, not upgraded from 15 digits).
    Columns returned:

    - `birth_date`, `gender`: the values to use (see the module docstring);
    - `birth_agreement`: `same` / `near` / `far` / None;
    - `birth_disagrees`, `gender_disagrees`: stated and ID values both known and different;
    - `id_conflict`: a valid ID whose birth date is far from the stated one, or whose gender
      differs from the stated one (unless the batch's gender codes look mis-mapped);
    - `birth_filled`, `gender_filled`: taken from the ID because none was stated;
    - `birth_overridden`, `gender_overridden`: the stated value replaced by the ID's;
    - `unverified_mismatch`: a disagreement with an upgraded 15-digit ID (stated kept).
    """
    id_birth, id_gender = ids["id_birth_date"], ids["id_gender"]
    valid = ids["id_valid"].astype(bool)
    verified = valid & ids["id_issue"].ne("upgraded_from_15")
    agreement = birth_date_agreement(stated_birth, id_birth.where(valid))
    birth_disagrees = agreement.isin(["near", "far"])
    known_gender = valid & id_gender.notna()
    comparable_gender = known_gender & stated_gender.notna()
    gender_disagrees = comparable_gender & stated_gender.ne(id_gender)
    compared = int(comparable_gender.sum())
    codes_mismapped = (
        compared >= MIN_GENDER_SAMPLE
        and int(gender_disagrees.sum()) > MAX_GENDER_DISAGREEMENT * compared
    )
    id_conflict = valid & (agreement.eq("far") | (gender_disagrees & (not codes_mismapped)))

    # An ID that is not the record's own (its gender disagrees) fills nothing either.
    birth_filled = valid & id_birth.notna() & stated_birth.isna() & ~id_conflict
    birth_overridden = agreement.eq("near") & verified & ~id_conflict
    birth_date = stated_birth.where(~(birth_filled | birth_overridden), id_birth)

    gender_filled = known_gender & stated_gender.isna()
    gender_overridden = gender_disagrees & verified & ~id_conflict
    gender = stated_gender.where(~(gender_filled | gender_overridden), id_gender)
    return pd.DataFrame(
        {
            "birth_date": birth_date,
            "gender": none_if_nan(gender),
            "birth_agreement": agreement,
            "birth_disagrees": birth_disagrees,
            "gender_disagrees": gender_disagrees,
            "id_conflict": id_conflict,
            "birth_filled": birth_filled,
            "gender_filled": gender_filled,
            "birth_overridden": birth_overridden,
            "gender_overridden": gender_overridden,
            "unverified_mismatch": (birth_disagrees | gender_disagrees) & valid & ~verified,
        },
        index=stated_birth.index,
    )


def _agreement_one(stated: pd.Timestamp | None, from_id: pd.Timestamp | None) -> str | None:
    """`birth_date_agreement` for one pair of dates."""
    if stated is None or from_id is None:
        return None
    a = stated.year * 10_000 + stated.month * 100 + stated.day
    b = from_id.year * 10_000 + from_id.month * 100 + from_id.day
    if a == b:
        return "same"
    differing = sum(x != y for x, y in zip(f"{a:08d}", f"{b:08d}", strict=True))
    swapped = stated.year == from_id.year and (stated.month, stated.day) == (
        from_id.day,
        from_id.month,
    )
    apart = abs((date(stated.year, stated.month, stated.day) - from_id.date()).days)
    near = swapped or differing <= 1 or apart <= NEAR_BIRTH_DATE_DAYS
    return "near" if near else "far"


def reconcile_one(
    stated_birth: pd.Timestamp | None,
    stated_gender: str | None,
    id_birth: pd.Timestamp | None,
    id_gender: str | None,
    id_valid: bool,
    id_issue: str | None,
) -> dict[str, object]:
    """`reconcile_with_id` for one record alone: its columns, as values (None for a missing
    date). A batch of one never
    has enough genders compared to find its codes mis-mapped (`MIN_GENDER_SAMPLE`)."""
    verified = id_valid and id_issue != "upgraded_from_15"
    agreement = _agreement_one(stated_birth, id_birth if id_valid else None)
    birth_disagrees = agreement in ("near", "far")
    known_gender = id_valid and id_gender is not None
    gender_disagrees = known_gender and stated_gender is not None and stated_gender != id_gender
    id_conflict = id_valid and (agreement == "far" or gender_disagrees)
    birth_filled = id_valid and not pd.isna(id_birth) and pd.isna(stated_birth) and not id_conflict
    birth_overridden = agreement == "near" and verified and not id_conflict
    gender_filled = known_gender and stated_gender is None
    gender_overridden = gender_disagrees and verified and not id_conflict
    return {
        "birth_date": id_birth if birth_filled or birth_overridden else stated_birth,
        "gender": id_gender if gender_filled or gender_overridden else stated_gender,
        "birth_agreement": agreement,
        "birth_disagrees": birth_disagrees,
        "gender_disagrees": gender_disagrees,
        "id_conflict": id_conflict,
        "birth_filled": birth_filled,
        "gender_filled": gender_filled,
        "birth_overridden": birth_overridden,
        "gender_overridden": gender_overridden,
        "unverified_mismatch": (birth_disagrees or gender_disagrees) and id_valid and not verified,
    }

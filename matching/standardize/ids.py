"""Mainland resident identity card numbers (GB 11643-1999).

An 18-character ID is 6 digits of area code, 8 of birth date (YYYYMMDD), 3 of sequence (odd
for men, even for women) and a check digit: sum(digit_i * 2^(17-i) mod 11) mod 11 indexes
`10X98765432`. First-generation 15-digit IDs have a 2-digit year and no check digit; they are
upgraded by inserting `19` (they were issued only to people born in the 1900s) and computing
the check digit, which every bank does before comparing IDs.

IDs are nearly all distinct, so nothing here deduplicates: everything runs on whole
arrow-backed columns, the check digit on a numpy digit matrix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matching.standardize._text import arrow, as_text, flag, nfkc, none_if_nan, set_null

_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_CHECK_CHARS = np.array(list("10X98765432"), dtype=object)
_SEPARATORS = r"[\s\-‐‑–—_.·]"
MIN_ID_BIRTH_DATE = pd.Timestamp("1900-01-01")

# Issue codes in the order they are decided: the first that applies is the one reported.
ISSUE_ORDER = (
    "missing",
    "bad_characters",
    "bad_length",
    "bad_area_code",
    "bad_birth_date",
    "bad_check_digit",
    "upgraded_from_15",
)


def check_digits(first17: pd.Series) -> pd.Series:
    """GB 11643-1999 check characters for strings of exactly 17 digits."""
    if first17.empty:
        return pd.Series([], index=first17.index, dtype=object)
    raw = "".join(first17.tolist()).encode("ascii")
    digits = (np.frombuffer(raw, dtype=np.uint8) - ord("0")).reshape(-1, 17).astype(np.int64)
    remainder = (digits @ _WEIGHTS) % 11
    return pd.Series(_CHECK_CHARS[remainder], index=first17.index, dtype=object)


def clean_document_numbers(values: pd.Series) -> pd.Series:
    """NFKC, spaces and dashes removed, upper case; None when nothing is left."""
    s = as_text(values)
    # Already-clean numbers (nearly all) skip the three passes below.
    messy = s.notna() & ~flag(arrow(s).str.fullmatch(r"[0-9A-Z]+"))
    if messy.any():
        cleaned = nfkc(s[messy]).str.replace(_SEPARATORS, "", regex=True).str.upper()
        s = s.copy()
        s[messy] = set_null(cleaned, cleaned.str.len() == 0)
    return s


def normalize_resident_ids(values: pd.Series, *, now: pd.Timestamp | None = None) -> pd.DataFrame:
    """Normalize and validate resident ID numbers.

    Returns, on the input's index: `id_number` (cleaned, 15-digit ones upgraded to 18),
    `id_valid` (bool), `id_issue` (one of ISSUE_ORDER or NULL), and from valid IDs only
    `id_birth_date` (datetime64) and `id_gender` (`M`/`F`).
    An invalid ID keeps its cleaned text in `id_number` so stewards and fuzzy matching see it.
    """
    today = (pd.Timestamp.now() if now is None else pd.Timestamp(now)).normalize()
    ids = clean_document_numbers(values)
    text = arrow(ids)
    issue = pd.Series(None, index=ids.index, dtype=object)
    present = ids.notna()
    issue[~present] = "missing"

    length = text.str.len().fillna(0).astype(int)
    # X may only stand last, as the check character of an 18-character ID.
    bad_chars = present & ~flag(text.str.fullmatch(r"\d*X?"))
    bad_chars |= present & flag(text.str.endswith("X")) & (length != 18)
    issue[bad_chars & issue.isna()] = "bad_characters"
    issue[present & ~length.isin([15, 18]) & issue.isna()] = "bad_length"

    fifteen = issue.isna() & (length == 15)
    if fifteen.any():
        short = text[fifteen]
        upgraded = (short.str[:6] + "19" + short.str[6:]).astype(object)
        ids = ids.copy()
        ids[fifteen] = upgraded + check_digits(upgraded)
        text = arrow(ids)

    shaped = issue.isna()
    issue[shaped & ~flag(text.str.match(r"[1-8]"))] = "bad_area_code"

    birth = pd.to_datetime(text.where(shaped).str[6:14], format="%Y%m%d", errors="coerce")
    bad_birth = shaped & (birth.isna() | (birth > today) | (birth < MIN_ID_BIRTH_DATE))
    issue[bad_birth & issue.isna()] = "bad_birth_date"

    eighteen = shaped & ~fifteen
    expected = check_digits(text[eighteen].str[:17].astype(object))
    wrong = expected.ne(text[eighteen].str[17].astype(object))
    issue[wrong.reindex(ids.index, fill_value=False) & issue.isna()] = "bad_check_digit"

    issue[fifteen & issue.isna()] = "upgraded_from_15"
    valid = issue.isna() | (issue == "upgraded_from_15")
    odd = text.str[16].isin(list("13579"))
    gender = set_null(pd.Series(np.where(odd, "M", "F"), index=ids.index, dtype=object), ~valid)
    return pd.DataFrame(
        {
            "id_number": ids,
            "id_valid": valid.astype(bool),
            "id_issue": none_if_nan(issue),
            "id_birth_date": birth.where(valid),
            "id_gender": gender,
        }
    )

"""Phone numbers: mobiles to one form each, everything else usable to `phone_other`.

Mobile: `1[3-9]` + 9 digits, after removing separators, `+86` / `0086` / a bare `86` prefix;
kept as the 11 digits. Hong Kong and Macao mobiles are mobiles too (a bank's customers from
there give them as their only number), kept in E.164 form: `+852` + 8 digits starting 4-9
(OFCA's plan: 4, 5, 6, 7, 8 and 9 numbers are mobile, 2 and 3 fixed), `+853` + 8 digits
starting 6 (Macao's mobiles); written `+852 9123 4567`, `00852-91234567` or a bare
`85291234567` (no mainland number starts 85).
Landline: a trunk `0` + area code + 7-8 digit number, written `0311-85551234`; the area code
is 3 digits for `010` and `02x`, 4 otherwise (the national numbering plan). After `+86` the
trunk `0` is often dropped (`+86 311 8555 1234`), so it is put back.
Service numbers (`400`/`800` + 7 digits, `95xxx`) are kept in `phone_other` as digits, other
foreign numbers (`+886 912 345 678`, `+1 415 555 0100`, an HK landline) in E.164 form
(`+886912345678`). Anything else is invalid.

A placeholder mobile, whose last eight digits are all the same (13800000000, 13988888888), is
what a clerk types when the form insists on a number the customer did not give. It is no
one's number: kept, it joins strangers in blocking and can survive into a golden record, so
it becomes NULL with kind `placeholder`.
"""

from __future__ import annotations

import re
from unicodedata import normalize

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.standardize._text import (
    as_text,
    nfkc,
    none_if_nan,
    none_where,
    on_uniques,
    text_of,
)

_EXTENSION = r"(?i)(?:转|分机|ext\.?|x|#)\d{1,6}$"
_SEPARATORS = r"[\s\-()\[\].\u2010-\u2015/]"
_MOBILE = r"1[3-9]\d{9}"
# Country code included, without the `+`.
_HK_MACAO_MOBILE = r"852[4-9]\d{7}|8536\d{7}"
#: What `mobile` holds once standardized: a mainland mobile's 11 digits, or an HK / Macao
#: mobile in E.164 form (the quality rule on party records checks this; docs/CONTRACTS.md §3).
MOBILE_PATTERN = rf"^(?:{_MOBILE}|\+(?:{_HK_MACAO_MOBILE}))$"
_LANDLINE = r"(0(?:10|2\d|[3-9]\d{2}))(\d{7,8})"
_SERVICE = r"(?:400|800)\d{7}|95\d{3,6}"
# The same separators and country prefixes for RE2 (arrow), which only the mobile pre-pass
# uses: anything they leave unexplained goes through `_classify`.
_ARROW_SEPARATORS = r"[\s\-()\[\]./\x{2010}-\x{2015}]"
_ARROW_MOBILE_PREFIX = r"^(?:\+86|0086|86)(1[3-9]\d{9})$"
# Several numbers in one field: listed with a separator that never sits inside one number,
# or two long digit groups apart (138… 139…; a spaced single number has shorter groups).
_LIST_SEPARATORS = r"[,，;；、|/]"
_MULTI_VALUE = r"[,，;；、|]|\d{6,}\s*/\s*\+?\d|\d{7,}\s+\+?\d{7,}"
_PLACEHOLDER_TAILS = frozenset(digit * 8 for digit in "0123456789")
# The arrow passes' patterns for Python's `re` (ASCII, so \\d and \\s mean what RE2's do).
_MOBILE_RE = re.compile(_MOBILE, re.ASCII)
_SEPARATORS_RE = re.compile(r"[\t\n\f\r \-()\[\]./\u2010-\u2015]")
_MOBILE_PREFIX_RE = re.compile(_ARROW_MOBILE_PREFIX, re.ASCII)


def _classify(texts: pd.Series) -> pd.DataFrame:
    """`_classify_one_number`, and a field holding several numbers (`13812345678/0311-8555…`,
    `138…，139…`, `138… 139…`) read as the first mobile plus one other number."""
    out = _classify_one_number(texts)
    several = out["phone_kind"].eq("invalid") & texts.str.contains(_MULTI_VALUE, na=False)
    if not several.any():
        return out
    parts = texts[several].str.split(_LIST_SEPARATORS)
    by_space = parts.str.len() < 2
    parts[by_space] = texts[several][by_space].str.split()
    exploded = parts.explode()
    exploded = exploded[exploded.notna() & exploded.astype(str).str.strip().ne("")]
    if exploded.empty:
        return out
    numbers = _classify_one_number(exploded.astype(str).reset_index(drop=True))
    numbers["row"] = exploded.index.to_numpy()
    numbers["usable"] = numbers["phone_kind"].isin(
        ["mobile", "landline", "service", "international"]
    )
    # Taken only when every part is a number: `138…、139` is a typo, not a list.
    whole = numbers.groupby("row")["usable"].all()
    numbers = numbers[numbers["row"].isin(whole.index[whole.to_numpy()])]
    if numbers.empty:
        return out
    mobiles = numbers[numbers["phone_kind"] == "mobile"]
    rank = mobiles.groupby("row").cumcount().to_numpy()
    first_mobile = mobiles[rank == 0].set_index("row")["mobile"]
    second_mobile = mobiles[rank == 1].set_index("row")["mobile"]
    other = numbers.dropna(subset=["phone_other"]).groupby("row")["phone_other"].first()
    other = other.combine_first(second_mobile)
    first_kind = numbers.groupby("row")["phone_kind"].first()
    out.loc[first_kind.index, "phone_kind"] = first_kind.to_numpy()
    out.loc[first_mobile.index, "phone_kind"] = "mobile"
    out.loc[first_mobile.index, "mobile"] = first_mobile.to_numpy()
    out.loc[other.index, "phone_other"] = other.to_numpy()
    return out


def _classify_one_number(texts: pd.Series) -> pd.DataFrame:
    t = nfkc(texts).str.strip().str.replace(_EXTENSION, "", regex=True)
    t = t.str.replace(_SEPARATORS, "", regex=True)
    china = t.str.match(r"^(?:\+86|0086)", na=False)
    foreign = ~china & t.str.match(r"^(?:\+|00)", na=False)
    digits = t.str.replace(r"^(?:\+86|0086|\+|00)", "", regex=True)
    # A bare 86 is only taken as the country code when a mobile follows.
    digits = digits.str.replace(r"^86(?=1[3-9]\d{9}$)", "", regex=True)
    digits = digits.where(~(china & ~digits.str.match(r"^[01]", na=False)), "0" + digits)

    only_digits = digits.str.fullmatch(r"\d+", na=False)
    mainland = only_digits & ~foreign & digits.str.fullmatch(_MOBILE, na=False)
    hk_macao = only_digits & ~china & digits.str.fullmatch(_HK_MACAO_MOBILE, na=False)
    mobile = mainland | hk_macao
    landline_parts = digits.str.extract("^" + _LANDLINE + "$")
    landline = only_digits & ~foreign & ~mobile & landline_parts[0].notna()
    service = only_digits & ~foreign & ~mobile & ~landline & digits.str.fullmatch(_SERVICE)
    international = only_digits & foreign & ~mobile & digits.str.len().between(7, 15)

    kind = pd.Series("invalid", index=t.index, dtype=object)
    kind[mobile] = "mobile"
    kind[landline] = "landline"
    kind[service] = "service"
    kind[international] = "international"

    other = pd.Series(None, index=t.index, dtype=object)
    other[landline] = landline_parts[0] + "-" + landline_parts[1]
    other[service] = digits
    other[international] = "+" + digits
    return pd.DataFrame(
        {
            "mobile": none_if_nan(digits.where(mainland, "+" + digits).where(mobile)),
            "phone_other": none_if_nan(other),
            "phone_kind": kind,
        }
    )


def normalize_phones(values: pd.Series) -> pd.DataFrame:
    """Classify and normalize a column of phone texts.

    Returns, on the input's index: `mobile` (11 digits, `+852…` / `+853…`, or NULL),
    `phone_other` (a landline `0311-85551234`, service or `+`foreign number, or NULL) and
    `phone_kind`: `mobile`, `landline`, `service`, `international`, `placeholder` (mobile
    NULL), `invalid`, or NULL when the input was empty.
    """
    text = as_text(values)
    # Most values are already a bare mobile and nearly all are distinct: settle those in one
    # arrow pass, then the mobiles only written differently (+86 138-…, full-width digits) in
    # a second, and classify only the rest, once per distinct value.
    array = text.to_numpy(dtype=object)
    arrow = pa.array(array, type=pa.string(), from_pandas=True)
    clean = _is_mobile(arrow)
    mobile = none_where(clean, array)
    other = np.full(len(array), None, dtype=object)
    kind = none_where(clean, "mobile")
    messy = np.flatnonzero(~clean & pc.is_valid(arrow).to_numpy(zero_copy_only=False))
    if len(messy):
        digits = pc.replace_substring_regex(
            pc.utf8_normalize(arrow.take(pa.array(messy)), "NFKC"), _ARROW_SEPARATORS, ""
        )
        digits = pc.replace_substring_regex(digits, _ARROW_MOBILE_PREFIX, r"\1")
        written = _is_mobile(digits)
        rows = messy[written]
        mobile[rows] = digits.filter(pa.array(written)).to_numpy(zero_copy_only=False)
        kind[rows] = "mobile"
        messy = messy[~written]
    if len(messy):
        classified = on_uniques(text.iloc[messy], _classify)
        mobile[messy] = classified["mobile"].to_numpy(dtype=object)
        other[messy] = classified["phone_other"].to_numpy(dtype=object)
        kind[messy] = classified["phone_kind"].to_numpy(dtype=object)
    placeholder = pd.Series(mobile, dtype=object).str.slice(-8).isin(_PLACEHOLDER_TAILS).to_numpy()
    mobile[placeholder] = None
    kind[placeholder] = "placeholder"
    return pd.DataFrame(
        {"mobile": mobile, "phone_other": other, "phone_kind": kind},
        index=values.index,
    )


#: `normalize_phones`' row for one value: mobile, phone_other, phone_kind.
PhoneRow = tuple[str | None, str | None, str | None]


def normalize_phone(raw: object) -> PhoneRow:
    """`normalize_phones` for one value, without pandas for a mainland mobile.

    The two passes `normalize_phones` settles nearly every value with (a bare mobile, a
    mobile written with separators, full-width digits or `+86`), in Python on one str;
    anything else (a landline, a Hong Kong mobile, several numbers in one field) takes the
    column path.
    """
    text = text_of(raw)
    if text is None:
        return None, None, None
    if not _MOBILE_RE.fullmatch(text):
        digits = _SEPARATORS_RE.sub("", normalize("NFKC", text))
        digits = _MOBILE_PREFIX_RE.sub(r"\1", digits)
        if not _MOBILE_RE.fullmatch(digits):
            row = normalize_phones(pd.Series([raw], dtype=object)).iloc[0]
            return row["mobile"], row["phone_other"], row["phone_kind"]
        text = digits
    if text[-8:] in _PLACEHOLDER_TAILS:
        return None, None, "placeholder"
    return text, None, "mobile"


def mobile_number(raw: str) -> str | None:
    """`normalize_phones(...)["mobile"]` for one value (`normalize_phone`)."""
    return normalize_phone(raw)[0]


def _is_mobile(numbers: pa.Array) -> np.ndarray:
    hit = pc.match_substring_regex(numbers, f"^{_MOBILE}$")
    return pc.fill_null(hit, False).to_numpy(zero_copy_only=False)

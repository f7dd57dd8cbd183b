"""Mainland resident identity card numbers (GB 11643-1999).

An 18-character ID is 6 digits of area code, 8 of birth date (YYYYMMDD), 3 of sequence (odd
for men, even for women) and a check digit: sum(digit_i * 2^(17-i) mod 11) mod 11 indexes
`10X98765432`. First-generation 15-digit IDs have a 2-digit year and no check digit; they are
upgraded by inserting `19` (they were issued only to people born in the 1900s) and computing
the check digit, which every bank does before comparing IDs.

Customers also identify with other documents. Their numbers are kept normalized (upper case,
no spaces) but never checked against the resident-ID rules; `document_types_by_shape` tells
them apart when the source does not say:
- `hmt_residence_permit`, 港澳台居民居住证: 18 digits from `810000`, `820000` or `830000`. It
  has a valid check digit and looks like a resident ID, but is not one.
- `foreign_permanent_residence`, 外国人永久居留身份证: the 2017 card, 3 letters + 12 digits;
  the 2023 card, 18 characters from `9`.
- `hk_macao_permit`, 港澳居民来往内地通行证 (回乡证): `H` or `M` + 8 digits (old cards + 2
  renewal digits).
- `taiwan_permit`, 台湾居民来往大陆通行证 (台胞证): 8 digits; old cards 10 digits, or 8 digits
  + a letter.
- `passport`: 1-2 letters + 6-8 digits (`E12345678`, `EA1234567`, `G12345678`), or 6-10
  letters and digits mixed (foreign passports).

A mobile-banking or call-centre export may print an ID **partially masked**: `440***********1234`,
`4403********1234X`, the mask written `*`, `＊`, `#` or a run of `x`. Such a number in the shape
of a resident ID (15 or 18 positions) is kept as written with every masked position as `*`
(`MASK`), typed `resident_id`, never valid (`id_issue` `masked`) and never checked: its visible
digits are evidence for matching (they must agree, `matching.keys.id_visible`), not an ID.

IDs are nearly all distinct, so nothing here deduplicates: the shapes are told by RE2 regexes
on arrow arrays, and the 15 or 18 plain digits that nearly every number is are checked (area,
birth date, check digit, gender) as columns of one numpy byte matrix; only the few other
numbers take a Python step, to say why they are no resident ID.
"""

from __future__ import annotations

import re
from unicodedata import normalize

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.standardize._text import (
    arrow,
    as_text,
    flag,
    is_none,
    nfkc,
    none_where,
    set_null,
    text_of,
)

_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_CHECK_CHARS = np.array(list("10X98765432"), dtype=object)
_CHECK_BYTES = np.frombuffer(b"10X98765432", dtype=np.uint8)
_ZERO = ord("0")
_NINETEEN = np.frombuffer(b"19", dtype=np.uint8)
_DIGITS_THEN_X = re.compile(r"[0-9]*X?")
_FIFTEEN_DIGITS = re.compile(r"[0-9]{15}")
_SEPARATORS = r"[\s\-‐‑–—_.·()]"
MIN_ID_BIRTH_DATE = pd.Timestamp("1900-01-01")

#: How a masked position of an ID is written once cleaned (`440***********1234`).
MASK = "*"
#: `id_issue` of a partially masked resident ID: kept, never checked, never valid.
MASKED = "masked"
# What sources mask with, after NFKC and upper case (＊ is *, x is X). X masks only in a run:
# a single final X is an 18-digit ID's check character. RE2, for the pass over every number.
_MASK_CANDIDATE = r"[*#●•]|XX"
_CLEAN = r"^(?:[0-9A-WYZ]|X[0-9A-WYZ])*X?$"
_CLEAN_RE = re.compile(_CLEAN)
_MASK_CANDIDATE_RE = re.compile(_MASK_CANDIDATE)
_MASK_POSITIONS = r"[0-9X*#●•]{15}|[0-9X*#●•]{18}"
#: A cleaned number that is a masked resident ID: 15 or 18 positions, digits or MASK, an 18's
#: last one may be its check character X (a plain 15- or 18-digit ID matches too: test those
#: apart first).
MASKED_SHAPE = r"[0-9*]{15}|[0-9*]{17}[0-9X*]"

RESIDENT_ID = "resident_id"
#: Documents told apart by their shape, tried in this order; the first that fits wins.
#: RE2 syntax (arrow): no lookarounds.
DOCUMENT_SHAPES: tuple[tuple[str, str], ...] = (
    ("hmt_residence_permit", r"8[123]0000\d{11}[\dX]"),
    ("foreign_permanent_residence", r"9\d{16}[\dX]|[A-Z]{3}\d{12}"),
    # Clean resident IDs, then near misses (a digit dropped or doubled): a long run of digits
    # is a mistyped resident ID far more often than any other document.
    (RESIDENT_ID, r"\d{15}|\d{17}[\dX]|\d{14,19}|\d{13,16}X|" + MASKED_SHAPE),
    ("hk_macao_permit", r"[HM]\d{8}|[HM]\d{10}"),
    ("taiwan_permit", r"\d{8}|\d{10}|\d{8}[A-Z]"),
    # 1-2 letters + digits (E12345678, EA1234567, G12345678), else letters and digits mixed.
    ("passport", r"[A-Z]{1,2}\d{6,8}|[A-Z][A-Z\d]*\d[A-Z\d]*|\d[A-Z\d]*[A-Z][A-Z\d]*"),
)
#: Numbers no resident ID can be, whatever the source's type says: an area code of Hong Kong,
#: Macao, Taiwan (81-83) or of no region (9), or letters where a resident ID has digits.
UNMISTAKABLE_SHAPE = (
    r"8[123]0000\d{11}[\dX]|9\d{16}[\dX]|[A-Z]{3}\d{12}|[HM]\d{8}|[HM]\d{10}|[A-Z]{1,2}\d{6,8}"
)
_PASSPORT_LENGTH = (6, 10)

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


def _arrow(documents: np.ndarray) -> pa.Array:
    return pa.array(documents, type=pa.string(), from_pandas=True)


def _matches(documents: pa.Array, pattern: str) -> np.ndarray:
    """RE2 search on an arrow array, as a numpy bool array (NULL: False)."""
    hit = pc.fill_null(pc.match_substring_regex(documents, pattern), False)
    return hit.to_numpy(zero_copy_only=False)


def _plain_lengths(documents: pa.Array) -> np.ndarray:
    """18 for `\\d{17}[\\dX]`, 15 for `\\d{15}` (ASCII digits), else 0: the shapes nearly
    every number has, told in two arrow passes so the rest can run on a byte matrix."""
    is18 = _matches(documents, r"^[0-9]{17}[0-9X]$")
    is15 = _matches(documents, r"^[0-9]{15}$")
    return np.where(is18, 18, np.where(is15, 15, 0)).astype(np.int8)


def _digit_matrix(documents: np.ndarray, width: int) -> np.ndarray:
    """(n, width) uint8 ASCII codes of strings known to be `width` ASCII characters long."""
    return documents.astype(f"S{width}").view(np.uint8).reshape(len(documents), width)


def clean_document_numbers(values: pd.Series) -> pd.Series:
    """NFKC, spaces and dashes removed, upper case, a masked resident ID's mask written `MASK`;
    None when nothing is left."""
    return clean_with_arrow(values)[0]


def clean_with_arrow(values: pd.Series) -> tuple[pd.Series, pa.Array]:
    """`clean_document_numbers`, and the same values as an arrow array for the shape passes."""
    s = as_text(values)
    text = _arrow(s.to_numpy(dtype=object))
    # Already-clean numbers (nearly all: ASCII digits and capitals, no run of X that would be a
    # mask) skip the passes below.
    messy = pc.is_valid(text).to_numpy(zero_copy_only=False) & ~_matches(text, _CLEAN)
    if messy.any():
        rows = np.flatnonzero(messy)
        cleaned = nfkc(s.iloc[rows]).str.replace(_SEPARATORS, "", regex=True).str.upper()
        cleaned = _write_masks(set_null(cleaned, cleaned.str.len() == 0))
        fixed = cleaned.to_numpy(dtype=object)
        array = s.to_numpy(dtype=object).copy()
        array[rows] = fixed
        s = pd.Series(array, index=s.index, dtype=object)
        text = pc.replace_with_mask(text, pa.array(messy), _arrow(fixed))
    return s, text


def clean_document_number(raw: object) -> str | None:
    """`clean_document_numbers` for one value, without pandas for any number without a mask
    character (a masked one takes the column path: the mask rules stay in one place)."""
    text = text_of(raw)
    if text is None or _CLEAN_RE.fullmatch(text):
        return text
    cleaned = re.sub(_SEPARATORS, "", normalize("NFKC", text)).upper()
    if not cleaned:
        return None
    if _MASK_CANDIDATE_RE.search(cleaned):
        masked: str | None = clean_document_numbers(pd.Series([raw], dtype=object)).iloc[0]
        return masked
    return cleaned


def _upgraded(fifteen: str) -> str:
    """A 15-digit ID as 18: `19` inserted before the year, the check character computed."""
    first17 = fifteen[:6] + "19" + fifteen[6:]
    return first17 + _CHECK_CHARS[_check_remainder(first17)]


def _check_remainder(first17: str) -> int:
    return sum(int(d) * w for d, w in zip(first17, _WEIGHTS.tolist(), strict=True)) % 11


def resident_id_number(raw: str) -> str | None:
    """`normalize_resident_ids(...)["id_number"]` for one value, without pandas.

    What a caller types to look a customer up: cleaned as `clean_with_arrow` cleans, a
    15-digit ID upgraded to 18.
    """
    text = clean_document_number(raw)
    if text is not None and _FIFTEEN_DIGITS.fullmatch(text):
        return _upgraded(text)
    return text


def _write_masks(numbers: pd.Series) -> pd.Series:
    """Cleaned numbers (or None) with every masked position of a masked resident ID written
    `MASK`; any other number is returned as it is."""
    text = arrow(numbers)
    shaped = flag(text.str.fullmatch(_MASK_POSITIONS)) & flag(text.str.contains(_MASK_CANDIDATE))
    if not shaped.any():
        return numbers
    masked = numbers[shaped].str.replace(r"[#●•]", MASK, regex=True)
    # A run of X reaching the end masks the check character too; X before the end is a mask.
    masked = masked.str.replace(r"(?<=X)X$", MASK, regex=True)
    masked = masked.str.replace(r"X(?=.)", MASK, regex=True)
    # A 15-digit ID has no check character: a final X there is a mask as well.
    masked = masked.where(masked.str.len() != 15, masked.str.replace(r"X$", MASK, regex=True))
    out = numbers.copy()
    out[shaped] = masked
    return out


def document_types_by_shape(documents: pd.Series) -> pd.Series:
    """The document type each cleaned number's shape says (`DOCUMENT_SHAPES`), else `other`.

    Input as `clean_document_numbers` returns it; NULL stays NULL. Shapes overlap with
    foreign documents nobody can tell apart by the number alone (a Korean passport is also
    `M` + 8 digits): a source that records the type should map it in `id_type_codes`.
    """
    kinds = shape_types(documents.to_numpy(dtype=object), _arrow(documents.to_numpy(object)))
    return pd.Series(kinds, index=documents.index, dtype=object)


def shape_types(documents: np.ndarray, text: pa.Array) -> np.ndarray:
    """`document_types_by_shape` on the cleaned numbers and their arrow array."""
    # Nearly every number is a plain resident ID: settle those in two arrow passes.
    plain = _matches(text, r"^[1-8]([0-9]{14}|[0-9]{16}[0-9X])$")
    plain &= ~_matches(text, r"^8[123]0000")
    kinds = none_where(plain, RESIDENT_ID)
    rest_rows = np.flatnonzero(~plain & pc.is_valid(text).to_numpy(zero_copy_only=False))
    if len(rest_rows):
        rest = arrow(pd.Series(documents[rest_rows], dtype=object))
        found = pd.Series(None, index=rest.index, dtype=object)
        length = rest.str.len()
        for kind, shape in DOCUMENT_SHAPES:
            todo = found.isna()
            if not todo.any():
                break
            hit = flag(rest.str.fullmatch(shape)) & todo
            if kind == "passport":
                hit &= flag(length.between(*_PASSPORT_LENGTH))
            found[hit] = kind
        kinds[rest_rows] = found.fillna("other").to_numpy(dtype=object)
    return kinds


# `shape_types` and `normalize_cleaned` for one number, with Python's `re` in ASCII mode
# (RE2's \d is ASCII only): the same patterns, no arrow pass.
_PLAIN_RESIDENT_RE = re.compile(r"[1-8](?:[0-9]{14}|[0-9]{16}[0-9X])")
_PERMIT_PREFIX_RE = re.compile(r"8[123]0000")
_SHAPE_RES = tuple((kind, re.compile(shape, re.ASCII)) for kind, shape in DOCUMENT_SHAPES)
UNMISTAKABLE_SHAPE_RE = re.compile(UNMISTAKABLE_SHAPE, re.ASCII)
_EIGHTEEN_RE = re.compile(r"[0-9]{17}[0-9X]")
_MASKED_SHAPE_RE = re.compile(MASKED_SHAPE)


def shape_type(number: str | None) -> str | None:
    """`shape_types` for one cleaned number."""
    if number is None:
        return None
    if _PLAIN_RESIDENT_RE.fullmatch(number) and not _PERMIT_PREFIX_RE.match(number):
        return RESIDENT_ID
    for kind, shape in _SHAPE_RES:
        if shape.fullmatch(number) and (
            kind != "passport" or _PASSPORT_LENGTH[0] <= len(number) <= _PASSPORT_LENGTH[1]
        ):
            return kind
    return "other"


#: `normalize_cleaned`'s row for one number: id_number, id_valid, id_issue, id_birth_date
#: (None where NaT), id_gender.
ResidentIdRow = tuple[str | None, bool, str | None, pd.Timestamp | None, str | None]


def check_resident_id(number: str | None, today: pd.Timestamp) -> ResidentIdRow:
    """`normalize_cleaned` for one cleaned number (`clean_document_number`)."""
    if number is None:
        return None, False, "missing", None, None
    if _EIGHTEEN_RE.fullmatch(number):
        upgraded = False
    elif _FIFTEEN_DIGITS.fullmatch(number):
        number, upgraded = _upgraded(number), True
    else:
        misshapen = MASKED if _MASKED_SHAPE_RE.fullmatch(number) else _shape_issue(number)
        return number, False, misshapen, None, None
    born: pd.Timestamp | None
    try:
        born = pd.Timestamp(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:  # no calendar date, or outside the nanosecond range: out of range anyway
        born = None
    in_range = born is not None and MIN_ID_BIRTH_DATE <= born <= today
    issue: str | None = None
    if not "1" <= number[0] <= "8":
        issue = "bad_area_code"
    elif not in_range:
        issue = "bad_birth_date"
    elif _CHECK_CHARS[_check_remainder(number[:17])] != number[17]:
        issue = "bad_check_digit"
    elif upgraded:
        issue = "upgraded_from_15"
    if issue is not None and issue != "upgraded_from_15":
        return number, False, issue, None, None
    gender = "M" if int(number[16]) % 2 == 1 else "F"
    return number, True, issue, born, gender


def _shape_issue(number: str) -> str:
    """Why a number that is neither 18 nor 15 plain digits is no resident ID."""
    # X may only stand last, as the check character of an 18-character ID.
    if not _DIGITS_THEN_X.fullmatch(number) or (number.endswith("X") and len(number) != 18):
        return "bad_characters"
    return "bad_length"


def _birth_dates(digits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Birth dates (datetime64[D]) from the YYYYMMDD digits 6-13, and whether each is real."""
    year = digits[:, 6] * 1000 + digits[:, 7] * 100 + digits[:, 8] * 10 + digits[:, 9]
    month = digits[:, 10] * 10 + digits[:, 11]
    day = digits[:, 12] * 10 + digits[:, 13]
    real = (month >= 1) & (month <= 12) & (day >= 1)
    months = ((year - 1970) * 12 + np.where(real, month - 1, 0)).astype("datetime64[M]")
    dates = months.astype("datetime64[D]") + np.where(real, day - 1, 0)
    real &= dates.astype("datetime64[M]") == months  # 0230 spills into March
    return dates, real


def normalize_resident_ids(values: pd.Series, *, now: pd.Timestamp | None = None) -> pd.DataFrame:
    """Normalize and validate resident ID numbers.

    Returns, on the input's index: `id_number` (cleaned, 15-digit ones upgraded to 18),
    `id_valid` (bool), `id_issue` (one of ISSUE_ORDER, `masked` or NULL), and from valid IDs only
    `id_birth_date` (datetime64) and `id_gender` (`M`/`F`).
    An invalid ID keeps its cleaned text in `id_number` so stewards and fuzzy matching see it.
    """
    today = (pd.Timestamp.now() if now is None else pd.Timestamp(now)).normalize()
    documents, text = clean_with_arrow(values)
    return normalize_cleaned(documents, text, today)


def normalize_cleaned(documents: pd.Series, text: pa.Array, today: pd.Timestamp) -> pd.DataFrame:
    """`normalize_resident_ids` on cleaned numbers and their arrow array."""
    ids = documents.to_numpy(dtype=object)
    n = len(ids)
    issue = np.full(n, None, dtype=object)
    present = pc.is_valid(text).to_numpy(zero_copy_only=False)
    issue[~present] = "missing"
    lengths = _plain_lengths(text)
    misshapen = np.flatnonzero(present & (lengths == 0))
    # A masked ID is kept as written and never checked (module docstring).
    masked = _matches(text.take(pa.array(misshapen)), f"^(?:{MASKED_SHAPE})$")
    issue[misshapen[masked]] = MASKED
    issue[misshapen[~masked]] = [_shape_issue(v) for v in ids[misshapen[~masked]]]

    # Everything else is 18 or 15 ASCII digits (18: the last may be X): a byte matrix.
    rows18, rows15 = np.flatnonzero(lengths == 18), np.flatnonzero(lengths == 15)
    short = _digit_matrix(ids[rows15], 15)
    upgraded = np.empty((len(rows15), 18), dtype=np.uint8)
    upgraded[:, :6], upgraded[:, 6:8], upgraded[:, 8:17] = short[:, :6], _NINETEEN, short[:, 6:]
    upgraded[:, 17] = _CHECK_BYTES[((upgraded[:, :17] - _ZERO) @ _WEIGHTS) % 11]
    ids = ids.copy()
    ids[rows15] = upgraded.view("S18").ravel().astype(str).astype(object)
    rows = np.concatenate([rows18, rows15])
    matrix = np.concatenate([_digit_matrix(ids[rows18], 18), upgraded])
    digits = matrix[:, :17].astype(np.int64) - _ZERO

    found = np.full(len(rows), None, dtype=object)
    births, real = _birth_dates(digits)
    in_range = (births <= today.to_datetime64()) & (births >= MIN_ID_BIRTH_DATE.to_datetime64())
    check_wrong = _CHECK_BYTES[(digits @ _WEIGHTS) % 11] != matrix[:, 17]
    # Set last-first, so that the earliest in ISSUE_ORDER is the one reported.
    for code, hit in (
        ("bad_check_digit", check_wrong),
        ("bad_birth_date", ~(real & in_range)),
        ("bad_area_code", (matrix[:, 0] < ord("1")) | (matrix[:, 0] > ord("8"))),
    ):
        found[hit] = code
    upgraded_found = found[len(rows18) :]  # a view: the upgraded rows come last
    upgraded_found[is_none(upgraded_found)] = "upgraded_from_15"
    issue[rows] = found

    valid = np.zeros(n, dtype=bool)
    valid[rows] = is_none(found) | (found == "upgraded_from_15")
    ok = valid[rows]
    birth_date = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    birth_date[rows[ok]] = births[ok]
    gender = np.full(n, None, dtype=object)
    gender[rows[ok]] = np.where(digits[ok, 16] % 2 == 1, "M", "F")
    return pd.DataFrame(
        {
            "id_number": ids,
            "id_valid": valid,
            "id_issue": issue,
            "id_birth_date": birth_date,
            "id_gender": gender,
        },
        index=documents.index,
    )

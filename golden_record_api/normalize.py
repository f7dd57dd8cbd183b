"""Normalization of lookup keys, so a caller's value meets the stored, normalized one.

Deliberately small: party records and golden records are already normalized by
`matching.standardize` (CONTRACTS.md §3), so a lookup value only needs the same surface
clean-up — full-width characters, spaces and dashes, a `+86` prefix, a lower-case `x`, an old
15-digit resident ID. Validation (check digits, real birth dates) is not repeated here: a value
that is not on file simply finds nothing.
"""

from __future__ import annotations

import re
import unicodedata

_SEPARATORS = re.compile(r"[\s\-()（）.·]+")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def resident_id_check_digit(first17: str) -> str:
    """GB 11643-1999 check character of the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalize_resident_id(raw: str) -> str:
    """` 130102 19850307 123x ` → `13010219850307123X`; 15 digits are upgraded to 18."""
    value = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw)).upper()
    if len(value) == 15 and value.isdigit():
        first17 = value[:6] + "19" + value[6:]
        value = first17 + resident_id_check_digit(first17)
    return value


def normalize_mobile(raw: str) -> str:
    """`+86 138-0013-8000` → `13800138000` (also `0086…` and a bare `86…` of 13 digits)."""
    value = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            return value[len(prefix) :]
    if len(value) == 13 and value.startswith("861"):
        return value[2:]
    return value


def normalize_name(raw: str) -> str:
    """`张 伟` → `张伟`; `zhang  wei` → `ZHANG WEI` (the forms of `party_records.name`)."""
    value = unicodedata.normalize("NFKC", raw).strip()
    if latin_pinyin(value) is None:
        return re.sub(r"\s+", "", value)
    return " ".join(value.split()).upper()


def latin_pinyin(name: str) -> str | None:
    """`ZHANG WEI` → `zhang wei` (the form of `name_pinyin`); None for a name in Han script."""
    if any(unicodedata.category(ch) == "Lo" for ch in name):
        return None
    return " ".join(name.split()).lower()

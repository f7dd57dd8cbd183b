"""Masking of C2 personal data (JR/T 0171-2020) wherever quality results show examples."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d{11,18}[0-9Xx]?")


def mask_resident_id(value: str) -> str:
    """First 6 and last 4 characters kept: the region and a tail a clerk can confirm."""
    return value if len(value) < 11 else f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"


def mask_mobile(value: str) -> str:
    return value if len(value) != 11 else f"{value[:3]}****{value[-4:]}"


def mask_value(column: str, value: object) -> str:
    """Mask anything that looks like an ID or phone, whatever column it sits in."""
    text = "" if value is None else str(value)
    if column in {"id_number"} or len(text) >= 15:
        return _DIGITS.sub(lambda m: mask_resident_id(m.group()), text)
    if column in {"mobile", "phone_other"} or len(text) == 11:
        return _DIGITS.sub(lambda m: mask_mobile(m.group()), text)
    return text

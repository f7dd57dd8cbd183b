"""Masking of C2 personal data (JR/T 0171-2020) before it leaves the API.

Resident IDs and phone numbers are C2 data: shown only to a role allowed to see them. This
version has no user store and no roles yet, so **every response is masked, always**; there is
no switch to turn it off. When authentication arrives, the caller's role decides whether
`mask_row` is applied, and this module stays the one place that knows how a value is masked.

- resident ID (and any document number): first 6 + `********` + last 4, e.g.
  `130102198503071234` → `130102********1234`. The region code and the check digit stay
  readable, the birth date and sequence do not. Numbers shorter than 15 characters
  (passports, junk) keep only their first and last 2 characters.
- mobile: first 3 + `****` + last 4, e.g. `13800138000` → `138****8000`. Other phone numbers
  keep their first 3 and last 4 characters, everything between becomes `*`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from quality.masking import SENSITIVE_COLUMNS, mask_mobile, mask_resident_id


def mask_id_number(value: str | None) -> str | None:
    """Mask a resident ID or other document number; None and empty stay as they are."""
    return mask_resident_id(value) if value else value


def mask_phone(value: str | None) -> str | None:
    """Mask a mobile (`138****8000`) or any other phone number; None and empty stay."""
    return mask_mobile(value) if value else value


# Column name → how it is masked. Applied to golden records, party records and the 360 view
# alike; which columns are C2 is decided once, in quality.masking.SENSITIVE_COLUMNS.
MASKED_COLUMNS: dict[str, Callable[[str | None], str | None]] = {
    column: mask_id_number if kind == "id" else mask_phone
    for column, kind in SENSITIVE_COLUMNS.items()
}


def mask_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `row` with every C2 column masked (non-text values are left alone)."""
    masked = dict(row)
    for column, mask in MASKED_COLUMNS.items():
        value = masked.get(column)
        if isinstance(value, str):
            masked[column] = mask(value)
    return masked

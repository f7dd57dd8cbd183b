"""How a C2 value (JR/T 0171-2020) is masked before it leaves the API.

Which field is masked for which role is the access policy's business (`policy`,
`access_policy.yaml`); this module is the one place that knows *how* a value is masked. The
policy names a mask from `MASKS` for every field some role sees masked.

- resident ID (and any document number): first 6 + `********` + last 4, e.g.
  `130102198503071234` → `130102********1234`. The region code, the sequence (whose last
  digit is the gender) and the check digit stay readable; the eight hidden digits are
  exactly the birth date, which is why the policy never serves a birth date beside a masked
  ID. Numbers shorter than 15 characters (passports, junk) keep only their first and last 2
  characters.
- account or card number: the same first 6 + `********` + last 4 (`quality.masking`'s rule
  for any account-like number), e.g. `6222020000000001` → `622202********0001`: the last 4
  let a customer confirm which account is meant, the first 6 only name the issuing bank.
- mobile: first 3 + `****` + last 4, e.g. `13800138000` → `138****8000`. Other phone numbers
  keep their first 3 and last 4 characters, everything between becomes `*`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from quality.masking import mask_mobile, mask_name, mask_resident_id


def mask_id_number(value: str | None) -> str | None:
    """Mask a resident ID or other document number; None and empty stay as they are."""
    return mask_resident_id(value) if value else value


def mask_phone(value: str | None) -> str | None:
    """Mask a mobile (`138****8000`) or any other phone number; None and empty stay."""
    return mask_mobile(value) if value else value


def mask_pinyin(value: str) -> str:
    """The first syllable only: `zhang wei` → `zhang *` (the pinyin would undo `mask_name`)."""
    first, _, rest = value.partition(" ")
    return f"{first} *" if rest else mask_name(value)


def mask_email(value: str) -> str:
    """`zhangwei@example.com` → `z***@example.com`: local parts are often the name."""
    local, at, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if at else mask_name(value)


def mask_adcode(value: str) -> str:
    """A district code cut to its city: `130102` → `130100` (the address is city-level too)."""
    return value[:4] + "00" if len(value) == 6 and value.isdigit() else "*" * len(value)


Masker: TypeAlias = Callable[[Any, Mapping[str, Any]], Any]


def _text(mask: Callable[[str], str]) -> Masker:
    return lambda value, _row: mask(value) if isinstance(value, str) and value else value


def _address(value: Any, row: Mapping[str, Any]) -> Any:
    """Province and city only, from the row's own parts; nothing when they are unknown."""
    if not isinstance(value, str) or not value:
        return value
    parts = [row.get("province"), row.get("city")]
    return "".join(part for part in parts if isinstance(part, str)) or None


# Mask name (as the policy writes it) → how a value is masked; the row is given for masks
# that rebuild a coarser value from the row's other columns (the address from its city).
MASKS: dict[str, Masker] = {
    "resident_id": _text(mask_resident_id),
    "account_no": _text(mask_resident_id),
    "phone": _text(mask_mobile),
    "name": _text(mask_name),
    "pinyin": _text(mask_pinyin),
    "email": _text(mask_email),
    "adcode": _text(mask_adcode),
    "address": _address,
}

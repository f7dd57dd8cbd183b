"""Masking of C2 personal data (JR/T 0171-2020) wherever quality results show examples.

The shapes are the API's (golden_record_api/masking.py), so a clerk sees the same mask in the
report as in the read API:

- resident ID, account or card number (15 digits or more): first 6 + `********` + last 4,
  `130102198503071234` → `130102********1234`;
- mobile (also written `+86 138-0013-8000`) and other phone numbers of 11-14 digits: first 3 +
  `*` + last 4, `13800138000` → `138****8000`.

- name: the first character and a star for each other, `张伟` → `张*` (the API's form);
- address: the administrative head up to the city (`河北省石家庄市` of `河北省石家庄市长安区…`),
  the rest starred: street, building and room single a household out.

`mask_text` finds such numbers anywhere in free text (a raw payload, an error message); a
value known to sit in an ID, phone, name or address column is masked whole, whatever its
length, so an invalid ten-digit "mobile" is not shown either. Names and addresses cannot be
found in free text, so a caller names the columns holding them (`SENSITIVE_COLUMNS` and the
`sensitive` argument).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

Sensitive = Literal["id", "phone", "name", "address"]

ID_STARS = "********"

#: Canonical columns (party records, golden records) that hold C2 data.
SENSITIVE_COLUMNS: dict[str, Sensitive] = {
    "id_number": "id",
    "mobile": "phone",
    "phone_other": "phone",
}

#: Canonical columns holding names and addresses: masked wherever quality results show rows
#: (reports, drill-down, exports), though a steward's own tools show them in clear.
REPORT_SENSITIVE_COLUMNS: dict[str, Sensitive] = {
    **SENSITIVE_COLUMNS,
    "name": "name",
    "name_raw": "name",
    "name_pinyin": "name",
    "address": "address",
    "address_raw": "address",
}

#: Canonical fields a source maps (`sources.<name>.mapping`) whose raw columns hold C2 data.
MAPPED_SENSITIVE: dict[str, Sensitive] = {
    "id_number": "id",
    "mobile": "phone",
    "phone": "phone",
    "name": "name",
    "name_latin": "name",
    "address": "address",
}

_SEPARATED_MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?(1[3-9]\d)[\s-]?\d{4}[\s-]?(\d{4})(?!\d)")
_LONG_NUMBER = re.compile(r"(?<!\d)\d{15,}[Xx]?(?![\dXx])|(?<!\d)\d{14}[Xx](?![\dXx])")
_PHONE_NUMBER = re.compile(r"(?<!\d)\d{11,14}(?!\d)")


def mask_resident_id(value: str) -> str:
    """First 6 and last 4 characters kept: the region and a tail a clerk can confirm."""
    if len(value) >= 15:
        return value[:6] + ID_STARS + value[-4:]
    if len(value) > 4:
        return value[:2] + "*" * (len(value) - 4) + value[-2:]
    return "*" * len(value)


def mask_mobile(value: str) -> str:
    if len(value) == 11:
        return f"{value[:3]}****{value[-4:]}"
    if len(value) > 7:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    return "*" * len(value)


def mask_name(value: str) -> str:
    """The first character, a star for each other: `张伟` → `张*`, `欧阳婧` → `欧**`.

    The surname (or a latin name's initial) lets a clerk confirm they have the right person
    on the phone; the given name, which with the birth date singles a person out, does not go.
    """
    return value[:1] + "*" * max(len(value) - 1, 1) if value else value


_ADDRESS_HEAD = re.compile(r"^.{0,12}?(?:市|地区|自治州|盟)")


def mask_address(value: str) -> str:
    """The address up to its city, then `****`: `河北省石家庄市长安区建设北大街1号` →
    `河北省石家庄市****`; with no city to cut at, its first three characters."""
    if not value:
        return value
    head = _ADDRESS_HEAD.match(value)
    return (head.group() if head else value[:3]) + "****"


def mask_text(text: str) -> str:
    """Mask every ID-, account- or phone-like number inside free text."""
    text = _SEPARATED_MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    text = _LONG_NUMBER.sub(lambda m: mask_resident_id(m.group()), text)
    return _PHONE_NUMBER.sub(lambda m: mask_mobile(m.group()), text)


def mask_value(column: str, value: object, sensitive: Mapping[str, Sensitive] | None = None) -> str:
    """A value as text, masked whole when its column holds C2 data, else masked within."""
    text = "" if value is None else str(value)
    kind = {**SENSITIVE_COLUMNS, **(sensitive or {})}.get(column)
    if kind == "id" and text:
        return mask_resident_id(text.strip())
    if kind == "phone" and text:
        return mask_mobile(re.sub(r"[\s-]", "", text))
    if kind == "name" and text:
        return mask_name(text.strip())
    if kind == "address" and text:
        return mask_address(text.strip())
    return mask_text(text)


_BARE_NUMBER = re.compile(r"\+?\d{9,}")
_DATE_LIKE = re.compile(r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}")


def mask_payload(payload: str, sensitive: Mapping[str, Sensitive] | None = None) -> str:
    """A raw row (JSON text, as `mdm.quarantine.raw_payload` holds it) with C2 data masked.

    Columns known to hold IDs or phones are masked whole; in the others, any ID-, account- or
    phone-like number is masked, and so is a value made of nine digits or more alone (a
    mistyped mobile in a column nobody declared). Lineage columns (`_batch_id`…) are dropped.
    """
    import json

    try:
        row = json.loads(payload)
    except (TypeError, ValueError):
        return mask_text(str(payload))
    if not isinstance(row, dict):
        return mask_text(str(payload))
    masked: dict[str, str | None] = {}
    for column, value in row.items():
        if str(column).startswith("_"):
            continue
        if value is None:
            masked[str(column)] = None
            continue
        text = mask_value(str(column), value, sensitive)
        bare = re.sub(r"[\s-]", "", text)
        if _BARE_NUMBER.fullmatch(bare) and not _DATE_LIKE.match(text.strip()):
            text = mask_mobile(bare)
        masked[str(column)] = text
    return json.dumps(masked, ensure_ascii=False)

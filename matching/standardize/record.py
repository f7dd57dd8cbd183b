"""One source row -> its canonical party record, in microseconds: `standardize_source` for a
record that arrives alone (`POST /match`, `POST /records`).

`standardize_source` works on columns: a call costs ~25 ms of pandas and arrow overhead
whatever its size, which a one-row call from an online endpoint cannot afford. Here each field
goes through its module's one-value function (`standardize_name`, `clean_document_number` and
`check_resident_id`, `parse_date`, `decode_gender`, `normalize_phone`, `normalize_email`,
`parse_address`, `reconcile_one`): the same patterns, tables and decisions on one str.
Where a value is of a shape a one-value function does not settle (a masked ID, a date in a rare
format, a landline, several numbers in one field), that function calls its column path on the
one value, so no rule has a second copy for the rare cases.

What a batch decides from its other rows cannot hold for a row alone: a key repeated in the
batch (`duplicate_key`), and gender codes found mis-mapped across the batch
(`identity.MAX_GENDER_DISAGREEMENT`). A row alone is what `standardize_source` makes of a
one-row batch; `tests/matching/standardize/test_record.py` proves the two equal, field by
field, on every simulated source row and on generated values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from matching.standardize import rules
from matching.standardize._text import text_of
from matching.standardize.addresses import parse_address
from matching.standardize.dates import parse_date
from matching.standardize.emails import normalize_email
from matching.standardize.identity import (
    UNKNOWN_CODE,
    decode_gender,
    gender_codes,
    reconcile_one,
)
from matching.standardize.ids import (
    RESIDENT_ID,
    UNMISTAKABLE_SHAPE_RE,
    ResidentIdRow,
    check_resident_id,
    clean_document_number,
    shape_type,
)
from matching.standardize.names import NAME_COLUMNS, NameRow, standardize_name
from matching.standardize.party import PARTY_COLUMNS, SourceMapping
from matching.standardize.phones import normalize_phone

_NO_NAME: NameRow = (None, None, None, False, False, False, False, False)


@dataclass(frozen=True)
class StandardizedRow:
    """A row's canonical party record (`PARTY_COLUMNS`, as values: None for a missing date)
    or the quarantine rule it breaks (`rule`, with `record` None)."""

    record: dict[str, object] | None
    rule: str | None


@dataclass(frozen=True)
class _Document:
    id_type: str | None
    checked: ResidentIdRow


@lru_cache(maxsize=64)
def _type_codes(codes: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {str(k).strip(): v for k, v in codes}


@lru_cache(maxsize=64)
def _gender_codes(codes: tuple[tuple[str, str], ...] | None) -> dict[str, str]:
    return gender_codes(None if codes is None else dict(codes))


def _items(codes: Mapping[str, str] | None) -> tuple[tuple[str, str], ...] | None:
    return None if codes is None else tuple(codes.items())


def _document(
    raw_number: object,
    raw_type: object,
    codes: Mapping[str, str] | None,
    default_type: str | None,
    today: pd.Timestamp,
) -> _Document:
    """`party._documents` for one document: its type (the code, else the default, else the
    number's shape; a resident ID by code whose number no resident ID can be is what its
    shape says) and its check."""
    number = clean_document_number(raw_number)
    type_text = text_of(raw_type, strip=True)
    mapped = _type_codes(_items(codes) or ())
    id_type = None if type_text is None else mapped.get(type_text)
    if type_text is not None and id_type is None:
        id_type = "other"
    declared_unknown = id_type == UNKNOWN_CODE
    if declared_unknown:
        id_type = None
    if default_type is not None and id_type is None and not declared_unknown:
        id_type = default_type
    shape = shape_type(number)
    if id_type is None:
        id_type = shape
    if number is None:
        return _Document(None, check_resident_id(None, today))
    if (
        id_type == RESIDENT_ID
        and shape not in (None, RESIDENT_ID)
        and UNMISTAKABLE_SHAPE_RE.fullmatch(number)
    ):
        id_type = shape
    if id_type != RESIDENT_ID:
        return _Document(id_type, (number, False, "not_resident_id", None, None))
    return _Document(id_type, check_resident_id(number, today))


def _value(row: Mapping[str, object], source: SourceMapping, canonical: str) -> object:
    column = source.mapping.get(canonical)
    if column is None:
        return None
    if column not in row:
        raise KeyError(f"{source.source_system}: mapped column {column!r} ({canonical}) not in raw")
    return row[column]


def _missing(value: object) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and value != value)


def _names(row: Mapping[str, object], source: SourceMapping) -> tuple[NameRow, object, object]:
    """`party._names` for one row: the name's row of NAME_COLUMNS (a usable latin name stands
    in for an empty or placeholder one), the standardized latin name, the raw name text."""
    given = _value(row, source, "name")
    name = standardize_name(given) or _NO_NAME  # type: ignore[arg-type]  # any value: text_of
    name_raw = None if _missing(given) else given
    if "name_latin" not in source.mapping:
        return name, None, name_raw
    latin_given = _value(row, source, "name_latin")
    latin = standardize_name(latin_given) or _NO_NAME  # type: ignore[arg-type]
    junk = NAME_COLUMNS.index("name_is_junk")
    usable = latin[0] is not None and not latin[junk]
    if (name[0] is None or name[junk]) and usable:
        name, name_raw = latin, None if _missing(latin_given) else latin_given
    name_latin = latin[0] if usable and latin[2] == "latin" else None
    return name, name_latin, name_raw


def standardize_row(
    row: Mapping[str, object],
    source: SourceMapping,
    *,
    batch_id: str,
    now: pd.Timestamp | None = None,
) -> StandardizedRow:
    """`standardize_source` for one row of the source's own columns (a mapping of column name
    to value): its canonical record, or the quarantine rule it breaks. A source whose documents
    sit in a table of their own (`identifiers`) is standardized by `standardize_source`."""
    if source.identifiers is not None:
        raise ValueError(
            f"{source.source_system}: maps an identifiers table; standardize it by columns"
        )
    if source.key_column not in row:
        raise KeyError(f"{source.source_system}: key column {source.key_column!r} not in raw")
    now = (pd.Timestamp.now() if now is None else pd.Timestamp(now)).floor("s")
    key = text_of(row[source.key_column], strip=True)
    updated, _ = parse_date(_value(row, source, "updated_at"), kind="timestamp", now=now)
    name, name_latin, name_raw = _names(row, source)
    document = _document(
        _value(row, source, "id_number"),
        _value(row, source, "id_type"),
        source.id_type_codes,
        source.default_id_type,
        now.normalize(),
    )
    id_number, id_valid, id_issue, id_birth, id_gender = document.checked
    mobile, phone_other, _ = normalize_phone(_value(row, source, "mobile"))
    phone_mobile, phone_more, _ = normalize_phone(_value(row, source, "phone"))
    if mobile is None:
        mobile = phone_mobile
    second_mobile = phone_mobile if phone_mobile != mobile else None
    for more in (phone_more, second_mobile):
        if phone_other is None:
            phone_other = more

    usable_id = id_valid or id_issue == "not_resident_id" or mobile is not None
    named = dict(zip(NAME_COLUMNS, name, strict=True))
    broken = {
        rules.MISSING_KEY.id: key is None,
        rules.DUPLICATE_KEY.id: False,  # a row alone repeats no key
        rules.JUNK_NAME.id: named["name_is_junk"],
        rules.ORGANIZATION_NAME.id: named["name_is_org"],
        rules.NO_NAME_NO_ID.id: named["name"] is None and not usable_id,
    }
    for rule in rules.QUARANTINE_ORDER:
        if broken[rule.id]:
            return StandardizedRow(record=None, rule=rule.id)

    birth_stated, _ = parse_date(_value(row, source, "birth_date"), kind="birth_date", now=now)
    gender_stated, _ = decode_gender(
        _value(row, source, "gender"), _gender_codes(_items(source.gender_codes))
    )
    identity = reconcile_one(birth_stated, gender_stated, id_birth, id_gender, id_valid, id_issue)
    email, _ = normalize_email(_value(row, source, "email"))
    address_raw = _value(row, source, "address")
    address = parse_address(address_raw)
    batch = text_of(row.get("_batch_id")) or batch_id
    birth_date = identity["birth_date"]
    assert birth_date is None or isinstance(birth_date, pd.Timestamp)
    record: dict[str, object] = {
        "record_key": f"{source.source_system}:{key}",
        "source_system": source.source_system,
        "source_record_id": key,
        "source_updated_at": updated,
        "batch_id": batch,
        "name_raw": name_raw,
        "name": named["name"],
        "name_pinyin": named["name_pinyin"],
        "name_script": named["name_script"],
        "name_latin": name_latin,
        "id_type": document.id_type,
        "id_number": id_number,
        "id_valid": bool(id_valid),
        "id_issue": id_issue,
        "other_ids": None,
        "birth_date": None if birth_date is None else birth_date.normalize(),
        "gender": identity["gender"],
        "birth_date_stated": birth_stated,
        "gender_stated": gender_stated,
        "id_conflict": bool(identity["id_conflict"]),
        "mobile": mobile,
        "phone_other": phone_other,
        "email": email,
        "address_raw": None if _missing(address_raw) else address_raw,
        **address,
        "branch_no": text_of(_value(row, source, "branch_no"), strip=True),
        "relationship_manager_id": text_of(
            _value(row, source, "relationship_manager_id"), strip=True
        ),
        "source_trust": source.trust_rank,
    }
    record.pop("address_issue")
    return StandardizedRow(record={c: record[c] for c in PARTY_COLUMNS}, rule=None)


def record_frame(records: list[dict[str, object]]) -> pd.DataFrame:
    """Records of `standardize_row` as a frame typed as `standardize_source` types its own:
    one array per column (a frame built row-wise and cast costs ten times as much)."""
    columns: dict[str, np.ndarray] = {}
    for name, dtype in PARTY_COLUMNS.items():
        values = [record[name] for record in records]
        if dtype == "object":
            columns[name] = np.array(values, dtype=object)
        elif dtype.startswith("datetime"):
            columns[name] = np.array(
                ["NaT" if v is None else pd.Timestamp(v).to_datetime64() for v in values],  # type: ignore[arg-type]
                dtype=dtype,
            )
        else:
            columns[name] = np.array(values, dtype=dtype)
    return pd.DataFrame(columns, copy=False)

"""One source's raw customer rows -> canonical party records + quarantine, nothing lost.

Every input row ends in exactly one of the two outputs: `len(records) + len(quarantine) ==
len(raw)`. A row is quarantined only when it cannot become a usable party record (the rules
in `rules.QUARANTINE_ORDER`, first match wins); a row with a bad field keeps its good ones,
the bad field is NULL (or corrected) and the rule is counted in `issue_counts`.

Duplicate keys are settled before the content rules: the latest version of a source record
is the record, so an older version is a `duplicate_key` even when the latest is junk (which
is then quarantined as junk: the source currently holds junk for that key).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from matching.standardize import rules
from matching.standardize._text import (
    arrow,
    as_text,
    flag,
    is_none,
    none_for_missing,
    none_if_nan,
)
from matching.standardize.addresses import parse_addresses
from matching.standardize.dates import parse_dates
from matching.standardize.emails import normalize_emails
from matching.standardize.identity import decode_genders, reconcile_with_id
from matching.standardize.ids import (
    RESIDENT_ID,
    UNMISTAKABLE_SHAPE,
    clean_with_arrow,
    normalize_cleaned,
    shape_types,
)
from matching.standardize.names import standardize_names
from matching.standardize.phones import normalize_phones

#: mdm.party_records, in contract order (docs/CONTRACTS.md §3); "object" columns hold str/None.
PARTY_COLUMNS: dict[str, str] = {
    "record_key": "object",
    "source_system": "object",
    "source_record_id": "object",
    "source_updated_at": "datetime64[ns]",
    "batch_id": "object",
    "name_raw": "object",
    "name": "object",
    "name_pinyin": "object",
    "name_script": "object",
    "id_type": "object",
    "id_number": "object",
    "id_valid": "bool",
    "id_issue": "object",
    "birth_date": "datetime64[ns]",
    "gender": "object",
    "birth_date_stated": "datetime64[ns]",
    "gender_stated": "object",
    "id_conflict": "bool",
    "mobile": "object",
    "phone_other": "object",
    "email": "object",
    "address_raw": "object",
    "address": "object",
    "province": "object",
    "city": "object",
    "district": "object",
    "adcode": "object",
    "branch_no": "object",
    "relationship_manager_id": "object",
    "source_trust": "int64",
}

#: mdm.quarantine, in contract order.
QUARANTINE_COLUMNS: dict[str, str] = {
    "source_system": "object",
    "source_record_id": "object",
    "batch_id": "object",
    "rule": "object",
    "reason": "object",
    "raw_payload": "object",
    "quarantined_at": "datetime64[ns]",
}

#: The party fields a source's `mapping` may name, with what each holds (the config reference,
#: docs/CONFIG_REFERENCE.md, is generated from this).
CANONICAL_FIELDS: dict[str, str] = {
    "name": "the customer's name as written, Chinese or latin (titles and spaces removed)",
    "name_latin": "a second, latin name (a card's embossed name); stands in for an empty name",
    "id_type": "the identity document's type code (decoded by `id_type_codes`)",
    "id_number": "the identity document's number; a partially masked one is kept as masked",
    "gender": "the gender code (decoded by `gender_codes`)",
    "birth_date": "the birth date in any common format",
    "mobile": "the mobile number; a field with several numbers or a landline is split",
    "phone": "another phone column (mobile or landline): a mobile found here fills `mobile`",
    "email": "e-mail address",
    "address": "postal address text",
    "updated_at": "when the source last changed the row (latest wins; survivorship recency)",
    "branch_no": "the branch that serves the customer",
    "relationship_manager_id": "the customer's relationship manager",
}


@dataclass(frozen=True)
class SourceMapping:
    """How one source's party table maps onto the canonical record (a `sources:` entry)."""

    source_system: str
    key_column: str
    mapping: dict[str, str]  # canonical field -> source column; any field may be absent
    trust_rank: int
    id_type_codes: dict[str, str] | None = None
    default_id_type: str | None = None
    gender_codes: dict[str, str] | None = None

    def __post_init__(self) -> None:
        unknown = set(self.mapping) - set(CANONICAL_FIELDS)
        if unknown:
            raise ValueError(f"{self.source_system}: unknown canonical fields {sorted(unknown)}")

    @classmethod
    def from_config(cls, source_system: str, config: Mapping[str, Any]) -> SourceMapping:
        """From one `sources:` entry of mdm.yaml (YAML may read codes as ints: keys become str)."""

        def codes(key: str) -> dict[str, str] | None:
            value = config.get(key)
            return None if value is None else {str(k): str(v) for k, v in value.items()}

        return cls(
            source_system=source_system,
            key_column=str(config["key_column"]),
            mapping={str(k): str(v) for k, v in config.get("mapping", {}).items()},
            trust_rank=int(config["trust_rank"]),
            id_type_codes=codes("id_type_codes"),
            default_id_type=config.get("default_id_type"),
            gender_codes=codes("gender_codes"),
        )


@dataclass
class StandardizeResult:
    records: pd.DataFrame
    quarantine: pd.DataFrame
    issue_counts: dict[str, int] = field(default_factory=dict)


def _column(raw: pd.DataFrame, source: SourceMapping, canonical: str) -> pd.Series:
    column = source.mapping.get(canonical)
    if column is None:
        return pd.Series(None, index=raw.index, dtype=object)
    if column not in raw.columns:
        raise KeyError(f"{source.source_system}: mapped column {column!r} ({canonical}) not in raw")
    return raw[column]


def _identity(raw: pd.DataFrame, source: SourceMapping, now: pd.Timestamp) -> pd.DataFrame:
    """id_type, id_number, id_valid, id_issue, id_birth_date, id_gender, id_type_unknown and
    id_type_corrected.

    The type is the row's code (`id_type_codes`; an unknown code is `other`), else the
    source's `default_id_type`, else the number's shape. A resident ID by code or default
    whose number no resident ID can be (`UNMISTAKABLE_SHAPE`: 810000…, 9…, E12345678,
    H12345678…) is the document its shape says, and counted as corrected.
    """
    documents, text = clean_with_arrow(_column(raw, source, "id_number"))
    number = documents.to_numpy(dtype=object)
    present = ~is_none(number)
    type_text = as_text(_column(raw, source, "id_type"), strip=True)
    typed = ~is_none(type_text.to_numpy(dtype=object))
    codes = {str(k).strip(): v for k, v in (source.id_type_codes or {}).items()}
    id_type = np.full(len(number), None, dtype=object)
    if codes and typed.any():
        id_type = none_for_missing(type_text.map(codes).to_numpy(dtype=object))
    unknown_type = typed & is_none(id_type)
    id_type[unknown_type] = "other"
    if source.default_id_type is not None:
        id_type[is_none(id_type)] = source.default_id_type
    shape_type = shape_types(number, text)
    id_type = np.where(is_none(id_type), shape_type, id_type)
    id_type[~present] = None

    claimed = np.flatnonzero(
        (id_type == RESIDENT_ID) & ~is_none(shape_type) & (shape_type != RESIDENT_ID)
    )
    corrected = np.zeros(len(number), dtype=bool)
    corrected[claimed] = flag(arrow(documents.iloc[claimed]).str.fullmatch(UNMISTAKABLE_SHAPE))
    id_type[corrected] = shape_type[corrected]

    checked = normalize_cleaned(documents, text, now.normalize())
    other = present & (id_type != RESIDENT_ID)
    if other.any():
        rows = np.flatnonzero(other)
        for column, value in (
            ("id_number", number[rows]),
            ("id_valid", False),
            ("id_issue", "not_resident_id"),
            ("id_birth_date", np.datetime64("NaT")),
            ("id_gender", None),
        ):
            array = checked[column].to_numpy().copy()
            array[rows] = value
            checked[column] = array
    checked["id_type"] = id_type
    checked["id_type_unknown"] = unknown_type & present
    checked["id_type_corrected"] = corrected
    return checked


def _superseded(key: pd.Series, updated: pd.Series, repeated: pd.Series) -> pd.Series:
    """True for rows whose key repeats and that are not the most recently updated version."""
    frame = pd.DataFrame(
        {"key": key[repeated], "updated": updated[repeated], "position": np.flatnonzero(repeated)}
    ).sort_values(["updated", "position"], na_position="first")
    older = frame.index[frame.duplicated("key", keep="last")]
    return pd.Series(key.index.isin(older), index=key.index)


def _payloads(raw: pd.DataFrame) -> list[str]:
    rows = raw.astype(object).to_dict("records")
    return [
        json.dumps(
            {str(k): None if _is_missing(v) else v for k, v in row.items()},
            ensure_ascii=False,
            default=str,
        )
        for row in rows
    ]


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value))


def _reasons(
    rule_of_row: pd.Series,
    key: pd.Series,
    name_raw: pd.Series,
    updated: pd.Series,
    superseded: pd.Series,
    repeated: pd.Series,
    source: SourceMapping,
) -> list[str]:
    """A sentence per quarantined row (`rule_of_row` holds only those rows)."""
    counts = key[repeated].value_counts()
    latest = repeated & ~superseded
    kept_updated = pd.Series(updated[latest].to_numpy(), index=key[latest].to_numpy())
    out = []
    rows = rule_of_row.index
    for rule, k, name in zip(
        rule_of_row.tolist(), key[rows].tolist(), name_raw[rows].tolist(), strict=True
    ):
        if rule == rules.MISSING_KEY.id:
            out.append(f"key column {source.key_column!r} is empty")
        elif rule == rules.DUPLICATE_KEY.id:
            stamp = kept_updated.get(k)
            out.append(
                f"key {k} occurs {counts[k]} times in the batch; kept the most recently "
                f"updated row ({'no update time' if pd.isna(stamp) else stamp}), not this one"
            )
        elif rule == rules.JUNK_NAME.id:
            out.append(f"test or placeholder name {name!r}")
        elif rule == rules.ORGANIZATION_NAME.id:
            out.append(f"organization name {name!r}: only people are mastered")
        else:
            out.append(
                "no name and no usable identifier (valid resident ID, other document, mobile)"
            )
    return out


def _frame(columns: Mapping[str, Any], rows: np.ndarray, dtypes: dict[str, str]) -> pd.DataFrame:
    """The given rows of each column (a Series on the raw index, or a scalar), typed by
    `dtypes`: one take per column, object columns holding None (not NaN)."""
    out: dict[str, np.ndarray] = {}
    for name, dtype in dtypes.items():
        value = columns[name]
        if isinstance(value, pd.Series):
            taken = value.to_numpy(dtype=object if dtype == "object" else None)[rows]
        else:
            taken = np.full(len(rows), value, dtype=object if dtype == "object" else None)
        out[name] = none_for_missing(taken) if dtype == "object" else taken.astype(dtype)
    # Fresh arrays, in `dtypes` order: no copy into one 2-D block (3x the time of the takes).
    return pd.DataFrame(out, copy=False)


def standardize_source(
    raw: pd.DataFrame,
    source: SourceMapping,
    *,
    batch_id: str,
    now: pd.Timestamp | None = None,
) -> StandardizeResult:
    """Standardize one batch of one source's party rows.

    `raw` holds the source's own columns (strings or None) plus `_batch_id`, `_row_hash` and
    `_extracted_at`. A row's own `_batch_id` is its provenance; `batch_id` fills it when the
    column is absent or empty. `now` is the run time: future birth dates are judged against
    it and it stamps `quarantined_at` (default: the current time).
    """
    now = (pd.Timestamp.now() if now is None else pd.Timestamp(now)).floor("s")
    raw = raw.reset_index(drop=True)
    if source.key_column not in raw.columns:
        raise KeyError(f"{source.source_system}: key column {source.key_column!r} not in raw")

    key = as_text(raw[source.key_column], strip=True)
    updated = parse_dates(_column(raw, source, "updated_at"), kind="timestamp", now=now)
    names = standardize_names(_column(raw, source, "name"))
    ids = _identity(raw, source, now)
    births = parse_dates(_column(raw, source, "birth_date"), kind="birth_date", now=now)
    genders = decode_genders(_column(raw, source, "gender"), source.gender_codes)
    mobiles = normalize_phones(_column(raw, source, "mobile"))
    phones = normalize_phones(_column(raw, source, "phone"))
    emails = normalize_emails(_column(raw, source, "email"))
    addresses = parse_addresses(_column(raw, source, "address"))

    identity = reconcile_with_id(births["value"], genders["gender"], ids)
    birth_date, gender = identity["birth_date"], identity["gender"]

    mobile = mobiles["mobile"].where(mobiles["mobile"].notna(), phones["mobile"])
    second_mobile = phones["mobile"].where(phones["mobile"].ne(mobile))
    phone_other = mobiles["phone_other"]
    for more in (phones["phone_other"], second_mobile):
        phone_other = phone_other.where(phone_other.notna(), more)

    # --- quarantine: first rule that applies ---------------------------------------------
    repeated = key.notna() & key.duplicated(keep=False)
    superseded = _superseded(key, updated["value"], repeated)
    usable_id = ids["id_valid"] | (ids["id_issue"] == "not_resident_id") | mobile.notna()
    conditions = {
        rules.MISSING_KEY.id: key.isna(),
        rules.DUPLICATE_KEY.id: superseded,
        rules.JUNK_NAME.id: names["name_is_junk"],
        rules.ORGANIZATION_NAME.id: names["name_is_org"],
        rules.NO_NAME_NO_ID.id: names["name"].isna() & ~usable_id,
    }
    first_rule = np.full(len(raw), None, dtype=object)
    decided = np.zeros(len(raw), dtype=bool)
    for rule in rules.QUARANTINE_ORDER:
        hit = conditions[rule.id].to_numpy(dtype=bool) & ~decided
        first_rule[hit] = rule.id
        decided |= hit
    rule_of_row = pd.Series(first_rule, index=raw.index, dtype=object)
    quarantined = pd.Series(decided, index=raw.index)
    kept = ~quarantined

    if "_batch_id" in raw.columns:  # one or a few batches: decoded once per distinct value
        codes, batches = pd.factorize(raw["_batch_id"], use_na_sentinel=True)
        decoded = [*as_text(pd.Series(batches, dtype=object)).fillna(batch_id), batch_id]
        row_batch = pd.Series(np.array(decoded, dtype=object)[codes], index=raw.index)
    else:
        row_batch = pd.Series(batch_id, index=raw.index, dtype=object)
    name_raw = none_if_nan(_column(raw, source, "name"))

    records = _frame(
        {
            "record_key": source.source_system + ":" + key,
            "source_system": source.source_system,
            "source_record_id": key,
            "source_updated_at": updated["value"],
            "batch_id": row_batch,
            "name_raw": name_raw,
            "name": names["name"],
            "name_pinyin": names["name_pinyin"],
            "name_script": names["name_script"],
            "id_type": ids["id_type"],
            "id_number": ids["id_number"],
            "id_valid": ids["id_valid"],
            "id_issue": ids["id_issue"],
            "birth_date": birth_date.dt.normalize(),
            "gender": gender,
            "birth_date_stated": births["value"].dt.normalize(),
            "gender_stated": genders["gender"],
            "id_conflict": identity["id_conflict"],
            "mobile": mobile,
            "phone_other": phone_other,
            "email": emails["email"],
            "address_raw": _column(raw, source, "address"),
            "address": addresses["address"],
            "province": addresses["province"],
            "city": addresses["city"],
            "district": addresses["district"],
            "adcode": addresses["adcode"],
            "branch_no": as_text(_column(raw, source, "branch_no"), strip=True),
            "relationship_manager_id": as_text(
                _column(raw, source, "relationship_manager_id"), strip=True
            ),
            "source_trust": source.trust_rank,
        },
        np.flatnonzero(kept.to_numpy()),
        PARTY_COLUMNS,
    )

    q_rows = np.flatnonzero(decided)
    q_index = rule_of_row.index[q_rows]
    quarantine = _frame(
        {
            "source_system": source.source_system,
            "source_record_id": key.iloc[q_rows],
            "batch_id": row_batch.iloc[q_rows],
            "rule": rule_of_row.iloc[q_rows],
            "reason": pd.Series(
                _reasons(
                    rule_of_row[q_index],
                    key,
                    name_raw,
                    updated["value"],
                    superseded,
                    repeated,
                    source,
                )
            ),
            "raw_payload": pd.Series(_payloads(raw.loc[q_index])),
            "quarantined_at": now,
        },
        np.arange(len(q_rows)),
        QUARANTINE_COLUMNS,
    )

    # --- issue counts: field rules over the records kept, quarantine rules over all -------
    mapped = set(source.mapping)
    field_issues: dict[rules.Rule, pd.Series] = {
        rules.NAME_MISSING: names["name"].isna(),
        rules.NAME_TITLE_REMOVED: names["name_title_removed"],
        rules.NAME_TRADITIONAL: names["name_traditional"],
        rules.NAME_REORDERED: names["name_reordered"],
        rules.ID_TYPE_UNKNOWN: ids["id_type_unknown"],
        rules.ID_TYPE_CORRECTED: ids["id_type_corrected"],
        rules.BIRTH_DATE_MISSING: birth_date.isna(),
        rules.BIRTH_DATE_UNPARSEABLE: births["issue"] == "unparseable",
        rules.BIRTH_DATE_IMPOSSIBLE: births["issue"] == "impossible",
        rules.BIRTH_DATE_FUTURE: births["issue"] == "future",
        rules.BIRTH_DATE_TOO_OLD: births["issue"] == "too_old",
        rules.BIRTH_DATE_ID_MISMATCH: identity["birth_overridden"],
        rules.BIRTH_DATE_FROM_ID: identity["birth_filled"],
        rules.ID_CONFLICT: identity["id_conflict"],
        rules.GENDER_UNKNOWN_CODE: genders["unknown"],
        rules.GENDER_ID_MISMATCH: identity["gender_overridden"],
        rules.GENDER_FROM_ID: identity["gender_filled"],
        rules.ID_UNVERIFIED_MISMATCH: identity["unverified_mismatch"],
        rules.MOBILE_INVALID: mobiles["phone_kind"] == "invalid",
        rules.MOBILE_PLACEHOLDER: (mobiles["phone_kind"] == "placeholder")
        | (phones["phone_kind"] == "placeholder"),
        rules.MOBILE_NOT_MOBILE: mobiles["phone_kind"].isin(
            ["landline", "service", "international"]
        ),
        rules.PHONE_INVALID: phones["phone_kind"] == "invalid",
        rules.EMAIL_INVALID: emails["email_issue"].notna(),
        rules.ADDRESS_UNRESOLVED: addresses["address_issue"] == "unresolved",
        rules.ADDRESS_INCONSISTENT: addresses["address_issue"] == "inconsistent",
    }
    if "mobile" in mapped or "phone" in mapped:
        field_issues[rules.MOBILE_MISSING] = mobile.isna()
    if "address" in mapped:
        field_issues[rules.ADDRESS_MISSING] = addresses["address"].isna()
    if "updated_at" in mapped:
        field_issues[rules.UPDATED_AT_INVALID] = updated["value"].isna()
    for code, rule in rules.ID_ISSUE_RULES.items():
        field_issues[rule] = ids["id_issue"] == code

    issue_counts = {rule.id: 0 for rule in rules.RULES}
    for rule, flagged in field_issues.items():
        issue_counts[rule.id] = int((flagged.astype(bool) & kept).sum())
    for rule in rules.QUARANTINE_ORDER:
        issue_counts[rule.id] = int((rule_of_row == rule.id).sum())

    return StandardizeResult(records=records, quarantine=quarantine, issue_counts=issue_counts)

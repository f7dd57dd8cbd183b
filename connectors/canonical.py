"""One source's activity table -> rows of a canonical entity table, typed, nothing lost.

Every raw row ends in the canonical rows or in the rejected rows (missing key, missing owner,
an older version of a key), as the party standardization does. A value that is present but
does not parse is NULL in its column and counted per field; a code the source's list does not
cover becomes `other` and is counted with the raw code. Codes are not personal data, so the
counts may be shown; no other value ever leaves this module except in the rejected rows'
payload (which is stored, like the party quarantine's, never logged).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from connectors.config import EntityMapping
from connectors.entities import ENTITIES, LINEAGE_COLUMNS, OTHER_CODE, Entity, EntityField
from matching.standardize import as_text, none_if_nan, rules
from matching.standardize.dates import parse_dates
from matching.standardize.party import QUARANTINE_COLUMNS, quarantine_payloads

#: The pandas dtype each field kind is written with (date: midnight timestamps, as
#: mdm.party_records' dates, so both warehouses type them alike).
KIND_DTYPES: dict[str, str] = {
    "key": "object",
    "owner": "object",
    "text": "object",
    "code": "object",
    "decimal": "float64",
    "integer": "Int64",
    "date": "datetime64[ns]",
    "timestamp": "datetime64[ns]",
}

#: canonical.quarantine: the party quarantine's columns and the entity the row was meant for.
REJECTED_COLUMNS: dict[str, str] = {**QUARANTINE_COLUMNS, "entity": "object"}

MISSING_OWNER = "missing_owner"

# Thousands separators, currency signs and units a balance column is seen to carry.
_NUMBER_NOISE = r"[,，\s¥￥元]|CNY|RMB"


def table_dtypes(entity: Entity) -> dict[str, str]:
    """The canonical table's columns in order, with their dtypes."""
    return {
        **{column: "object" for column in LINEAGE_COLUMNS},
        **{f.name: KIND_DTYPES[f.kind] for f in entity.fields},
    }


def empty_table(entity: Entity) -> pd.DataFrame:
    return pd.DataFrame(
        {name: pd.Series(dtype=dtype) for name, dtype in table_dtypes(entity).items()}
    )


@dataclass
class CanonicalResult:
    rows: pd.DataFrame  # the canonical table's rows from this source
    rejected: pd.DataFrame  # REJECTED_COLUMNS
    parse_failures: dict[str, int] = field(default_factory=dict)  # field -> values lost
    unmapped_codes: dict[str, dict[str, int]] = field(default_factory=dict)  # field -> code -> n
    row_checks: pd.DataFrame = field(default_factory=pd.DataFrame)  # per raw row kept: flags


def _number(text: pd.Series) -> pd.Series:
    cleaned = text.str.replace(_NUMBER_NOISE, "", regex=True)
    return pd.to_numeric(cleaned, errors="coerce")


def _code(text: pd.Series, spec: EntityField, codes: dict[str, str]) -> tuple[pd.Series, Counter]:
    """Canonical values of a code column; the raw codes that map to nothing, counted."""
    table = {str(k).strip(): v for k, v in codes.items()}
    by_case = {value.casefold(): value for value in spec.values}
    mapped = text.map(table)
    as_is = text.str.casefold().map(by_case)
    value = mapped.where(mapped.notna(), as_is)
    unknown = text.notna() & value.isna()
    value = value.where(~unknown, OTHER_CODE)
    return none_if_nan(value.astype(object)), Counter(text[unknown].tolist())


def _parse(
    raw: pd.DataFrame, entity: Entity, mapping: EntityMapping, now: pd.Timestamp
) -> tuple[dict[str, pd.Series], dict[str, int], dict[str, dict[str, int]], pd.Series]:
    """Every field's typed values on the raw index, failures per field and per row."""
    values: dict[str, pd.Series] = {}
    failures: dict[str, int] = {}
    unmapped: dict[str, dict[str, int]] = {}
    row_failed = pd.Series(False, index=raw.index)
    for spec in entity.fields:
        column = mapping.mapping.get(spec.name)
        if column is None:
            values[spec.name] = pd.Series(None, index=raw.index, dtype=KIND_DTYPES[spec.kind])
            continue
        text = as_text(raw[column], strip=True)
        present = text.notna()
        if spec.kind in {"key", "owner", "text"}:
            values[spec.name] = text
            continue
        if spec.kind == "code":
            values[spec.name], unknown = _code(text, spec, mapping.codes.get(spec.name, {}))
            if unknown:
                unmapped[spec.name] = dict(unknown.most_common())
            continue
        if spec.kind in {"decimal", "integer"}:
            number = _number(text)
            if spec.kind == "integer":
                whole = number.notna() & (number == np.floor(number))
                number = number.where(whole)
                parsed: pd.Series = number.astype("Int64")
            else:
                parsed = number.astype("float64")
        else:
            dates = parse_dates(text, kind="timestamp", now=now)["value"]
            parsed = dates.dt.normalize() if spec.kind == "date" else dates
        lost = present & parsed.isna()
        if lost.any():
            failures[spec.name] = int(lost.sum())
            row_failed |= lost
        values[spec.name] = parsed
    return values, failures, unmapped, row_failed


def canonicalize(
    raw: pd.DataFrame,
    *,
    system: str,
    entity_name: str,
    mapping: EntityMapping,
    batch_id: str,
    now: pd.Timestamp | None = None,
) -> CanonicalResult:
    """Map, type and deduplicate one source table's rows of one canonical entity."""
    entity = ENTITIES[entity_name]
    now = (pd.Timestamp.now() if now is None else pd.Timestamp(now)).floor("s")
    raw = raw.reset_index(drop=True)
    missing = sorted(set(mapping.mapping.values()) - set(raw.columns))
    if missing:
        raise KeyError(
            f"{system}: entities.{entity_name}: columns {missing} not in {mapping.table}"
        )
    values, failures, unmapped, row_failed = _parse(raw, entity, mapping, now)
    key = values[entity.key.name]
    owner = entity.owner
    owner_key = values[owner.name] if owner is not None else None

    # The latest version of a key is the row (by updated_at where mapped, else the last row).
    order = pd.DataFrame({"key": key, "updated": values["updated_at"]})
    order["position"] = np.arange(len(raw))
    latest = order[key.notna()].sort_values(["updated", "position"], na_position="first")
    superseded = pd.Series(False, index=raw.index)
    superseded[latest.index[latest.duplicated("key", keep="last")]] = True

    rule = pd.Series(None, index=raw.index, dtype=object)
    rule[superseded] = rules.DUPLICATE_KEY.id
    if owner_key is not None:
        rule[owner_key.isna()] = MISSING_OWNER
    rule[key.isna()] = rules.MISSING_KEY.id
    rejected_mask = rule.notna()
    kept = ~rejected_mask

    row_batch = (
        as_text(raw["_batch_id"]).fillna(batch_id)
        if "_batch_id" in raw.columns
        else pd.Series(batch_id, index=raw.index, dtype=object)
    )
    lineage = {
        "source_system": pd.Series(system, index=raw.index, dtype=object),
        "record_key": system + ":" + key,
        "owner_record_key": (
            system + ":" + owner_key
            if owner_key is not None
            else pd.Series(None, index=raw.index, dtype=object)
        ),
        "batch_id": row_batch,
    }
    columns = {**lineage, **values}
    dtypes = table_dtypes(entity)
    rows = pd.DataFrame(
        {name: columns[name][kept].reset_index(drop=True) for name in dtypes}
    ).astype(dtypes)  # type: ignore[arg-type]
    for name, dtype in dtypes.items():
        if dtype == "object":
            rows[name] = none_if_nan(rows[name])

    reasons = {
        rules.MISSING_KEY.id: f"key column {mapping.mapping[entity.key.name]!r} is empty",
        rules.DUPLICATE_KEY.id: "an older version of a key that occurs again in the batch",
        MISSING_OWNER: (
            f"owner column {mapping.mapping[owner.name]!r} is empty" if owner is not None else ""
        ),
    }
    rejected_rule = rule[rejected_mask]
    rejected = pd.DataFrame(
        {
            "source_system": system,
            "source_record_id": key[rejected_mask].astype(object),
            "batch_id": row_batch[rejected_mask],
            "rule": rejected_rule,
            "reason": rejected_rule.map(reasons),
            "raw_payload": pd.Series(
                quarantine_payloads(raw.loc[rejected_mask]), index=rejected_rule.index, dtype=object
            )
            if rejected_mask.any()
            else pd.Series(dtype=object),
            "quarantined_at": now,
            "entity": entity_name,
        },
        columns=list(REJECTED_COLUMNS),
    ).reset_index(drop=True)
    rejected = rejected.astype(REJECTED_COLUMNS)

    code_fields = [f.name for f in entity.fields if f.kind == "code" and f.name in unmapped]
    codes_known = pd.Series(True, index=raw.index)
    for name in code_fields:
        codes_known &= values[name].ne(OTHER_CODE)
    row_checks = pd.DataFrame(
        {
            "record_key": lineage["record_key"][kept],
            "_dq_values_parse": ~row_failed[kept],
            "_dq_codes_known": codes_known[kept],
        }
    ).reset_index(drop=True)
    return CanonicalResult(rows, rejected, failures, unmapped, row_checks)


def coverage_row(entity_name: str, sources: list[str], rows: int) -> dict[str, object]:
    """A row of canonical.entity_coverage: which sources map the entity, and its row count."""
    return {
        "entity": entity_name,
        "canonical_table": ENTITIES[entity_name].table,
        "mapped": bool(sources),
        "sources": ",".join(sources) if sources else None,
        "row_count": rows,
    }

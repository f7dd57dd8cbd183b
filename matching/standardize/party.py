"""One source's raw customer rows -> canonical party records + quarantine, nothing lost.

Every input row ends in exactly one of the two outputs: `len(records) + len(quarantine) ==
len(raw)`. A row is quarantined only when it cannot become a usable party record (the rules
in `rules.QUARANTINE_ORDER`, first match wins); a row with a bad field keeps its good ones,
the bad field is NULL (or corrected) and the rule is counted in `issue_counts`.

Duplicate keys are settled before the content rules: the latest version of a source record
is the record, so an older version is a `duplicate_key` even when the latest is junk (which
is then quarantined as junk: the source currently holds junk for that key).

A source may keep a customer's documents in a table of their own, one row each (`identifiers`:
a resident ID, the old 15-digit one, a passport, a permit). The record's `id_number` is then
the best of them and of the party table's own (`_preference`), the others are kept in
`other_ids` for matching, and no document is lost.
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
from matching.standardize.identity import UNKNOWN_CODE, decode_genders, reconcile_with_id
from matching.standardize.ids import (
    MASKED,
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
    "name_latin": "object",
    "id_type": "object",
    "id_number": "object",
    "id_valid": "bool",
    "id_issue": "object",
    "other_ids": "object",
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


#: Documents other than a resident ID, most useful first: the one a record keeps as its
#: `id_number` when it has no resident ID. Residence permits carry an 18-digit number with a
#: check digit that does not change for life; travel permits and passports are renewed under
#: new numbers. A type not listed (a source's own) ranks with `other`.
DOCUMENT_PREFERENCE: tuple[str, ...] = (
    "hmt_residence_permit",
    "foreign_permanent_residence",
    "hk_macao_permit",
    "taiwan_permit",
    "passport",
    "other",
)


@dataclass(frozen=True)
class IdentifierMapping:
    """A party's documents kept in their own one-to-many table (a source's `identifiers:`)."""

    table: str
    key_column: str  # the owning party's key
    number_column: str
    type_column: str | None = None
    type_codes: dict[str, str] | None = None  # `unknown`: the number's shape decides
    default_type: str | None = None


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
    identifiers: IdentifierMapping | None = None

    def __post_init__(self) -> None:
        unknown = set(self.mapping) - set(CANONICAL_FIELDS)
        if unknown:
            raise ValueError(f"{self.source_system}: unknown canonical fields {sorted(unknown)}")

    @classmethod
    def from_config(cls, source_system: str, config: Mapping[str, Any]) -> SourceMapping:
        """From one `sources:` entry of mdm.yaml (YAML may read codes as ints: keys become str)."""

        def codes(section: Mapping[str, Any], key: str) -> dict[str, str] | None:
            value = section.get(key)
            return None if value is None else {str(k): str(v) for k, v in value.items()}

        table = config.get("identifiers")
        identifiers = (
            None
            if table is None
            else IdentifierMapping(
                table=str(table["table"]),
                key_column=str(table["key_column"]),
                number_column=str(table["number_column"]),
                type_column=table.get("type_column"),
                type_codes=codes(table, "type_codes"),
                default_type=table.get("default_type"),
            )
        )
        return cls(
            source_system=source_system,
            key_column=str(config["key_column"]),
            mapping={str(k): str(v) for k, v in config.get("mapping", {}).items()},
            trust_rank=int(config["trust_rank"]),
            id_type_codes=codes(config, "id_type_codes"),
            default_id_type=config.get("default_id_type"),
            gender_codes=codes(config, "gender_codes"),
            identifiers=identifiers,
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
    """The party table's own document, per row: see `_documents`."""
    return _documents(
        _column(raw, source, "id_number"),
        _column(raw, source, "id_type"),
        source.id_type_codes,
        source.default_id_type,
        now,
    )


def _documents(
    numbers: pd.Series,
    type_codes: pd.Series,
    codes_map: Mapping[str, str] | None,
    default_type: str | None,
    now: pd.Timestamp,
) -> pd.DataFrame:
    """id_type, id_number, id_valid, id_issue, id_birth_date, id_gender, id_type_unknown and
    id_type_corrected of document numbers and their type codes (a party table's own column,
    or the rows of its identifiers table).

    The type is the row's code (`codes_map`; a code not listed is `other` and counted, a code
    listed as `unknown` says nothing), else `default_type` for a row without a code, else the
    number's shape. A resident ID by code or default whose number no resident ID can be
    (`UNMISTAKABLE_SHAPE`: 810000…, 9…, E12345678, H12345678…) is the document its shape
    says, and counted as corrected.
    """
    documents, text = clean_with_arrow(numbers)
    number = documents.to_numpy(dtype=object)
    present = ~is_none(number)
    type_text = as_text(type_codes, strip=True)
    typed = ~is_none(type_text.to_numpy(dtype=object))
    codes = {str(k).strip(): v for k, v in (codes_map or {}).items()}
    id_type = np.full(len(number), None, dtype=object)
    if codes and typed.any():
        id_type = none_for_missing(type_text.map(codes).to_numpy(dtype=object))
    unknown_type = typed & is_none(id_type)
    id_type[unknown_type] = "other"
    declared_unknown = id_type == UNKNOWN_CODE
    id_type[declared_unknown] = None
    if default_type is not None:
        id_type[is_none(id_type) & ~declared_unknown] = default_type
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


def _preference(docs: pd.DataFrame) -> np.ndarray:
    """Each document's rank as a record's primary one, lowest first: a valid 18-digit
    resident ID, one upgraded from 15 digits, any other resident ID (a typo is still the
    person's number), the other documents by `DOCUMENT_PREFERENCE`, a masked resident ID
    (only its visible digits are evidence), no number at all."""
    kind = docs["id_type"].to_numpy(dtype=object)
    issue = docs["id_issue"].to_numpy(dtype=object)
    valid = docs["id_valid"].to_numpy(dtype=bool)
    resident = kind == RESIDENT_ID
    first_other = 3
    rank = np.full(len(docs), first_other + len(DOCUMENT_PREFERENCE) + 1, dtype=np.int64)
    rank[~is_none(kind)] = first_other + DOCUMENT_PREFERENCE.index("other")
    for position, name in enumerate(DOCUMENT_PREFERENCE):
        rank[kind == name] = first_other + position
    rank[resident] = 2
    rank[resident & valid & (issue == "upgraded_from_15")] = 1
    rank[resident & valid & is_none(issue)] = 0
    rank[resident & (issue == MASKED)] = first_other + len(DOCUMENT_PREFERENCE)
    return rank


def _with_identifier_table(
    own: pd.DataFrame,
    key: pd.Series,
    table: pd.DataFrame,
    mapping: IdentifierMapping,
    source_system: str,
    now: pd.Timestamp,
) -> tuple[pd.DataFrame, pd.Series, int]:
    """Each party row's primary document, chosen by `_preference` among its own (`own`,
    from `_identity`) and its rows in the identifiers table (ties: its own first, then the
    table's order); the other documents as `other_ids` (`type:number` sorted, joined by `;`,
    None when there are none); and how many identifier rows no party row owns."""
    needed = (mapping.key_column, mapping.number_column, mapping.type_column)
    for column in needed:
        if column is not None and column not in table.columns:
            raise KeyError(
                f"{source_system}: identifiers column {column!r} not in table {mapping.table!r}"
            )
    table = table.reset_index(drop=True)
    types = (
        table[mapping.type_column]
        if mapping.type_column is not None
        else pd.Series(None, index=table.index, dtype=object)
    )
    extra = _documents(
        table[mapping.number_column], types, mapping.type_codes, mapping.default_type, now
    )
    owners = pd.DataFrame(
        {"key": as_text(table[mapping.key_column], strip=True), "doc": np.arange(len(table))}
    )
    parties = pd.DataFrame({"key": key.to_numpy(dtype=object), "row": np.arange(len(key))})
    # A key repeated in the party table (an older version, quarantined later) gets the
    # documents too: whichever version is kept has them.
    links = owners.merge(parties.dropna(subset=["key"]), on="key", how="left")
    orphaned = int(links["row"].isna().sum())
    links = links.dropna(subset=["row"])

    n = len(own)
    docs = pd.concat([own.reset_index(drop=True), extra.reset_index(drop=True)], ignore_index=True)
    row = np.concatenate([np.arange(n), links["row"].to_numpy(dtype=np.int64)])
    doc = np.concatenate([np.arange(n), n + links["doc"].to_numpy(dtype=np.int64)])
    order = np.lexsort((doc, _preference(docs)[doc], row))
    row, doc = row[order], doc[order]
    first = np.ones(len(row), dtype=bool)
    first[1:] = row[1:] != row[:-1]
    primary = doc[first]  # every row has its own document among the candidates: n of them

    chosen = docs.iloc[primary].reset_index(drop=True).set_axis(own.index)
    for column in ("id_type_unknown", "id_type_corrected"):
        hit = docs[column].to_numpy(dtype=bool)[doc]
        chosen[column] = np.bincount(row[hit], minlength=n) > 0

    number = docs["id_number"].to_numpy(dtype=object)
    primary_number = number[primary]
    rest = ~first & ~is_none(number[doc])
    rest[rest] = number[doc[rest]] != primary_number[row[rest]]
    items = pd.DataFrame(
        {
            "row": row[rest],
            "number": pd.Series(number[doc[rest]], dtype=object).str.replace(
                "[;:]", "", regex=True
            ),
            "type": docs["id_type"].to_numpy(dtype=object)[doc[rest]],
        }
    )
    # Already in preference order within a row: a number listed twice keeps its best type.
    items = items.drop_duplicates(["row", "number"])
    items = (items["type"] + ":" + items["number"]).to_frame("item").assign(row=items["row"])
    joined = items.sort_values(["row", "item"]).groupby("row")["item"].agg(";".join)
    other_ids = np.full(n, None, dtype=object)
    other_ids[joined.index.to_numpy(dtype=np.int64)] = joined.to_numpy(dtype=object)
    return chosen, pd.Series(other_ids, index=own.index, dtype=object), orphaned


def _superseded(key: pd.Series, updated: pd.Series, repeated: pd.Series) -> pd.Series:
    """True for rows whose key repeats and that are not the most recently updated version."""
    frame = pd.DataFrame(
        {"key": key[repeated], "updated": updated[repeated], "position": np.flatnonzero(repeated)}
    ).sort_values(["updated", "position"], na_position="first")
    older = frame.index[frame.duplicated("key", keep="last")]
    return pd.Series(key.index.isin(older), index=key.index)


def quarantine_payloads(raw: pd.DataFrame) -> list[str]:
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


def _names(raw: pd.DataFrame, source: SourceMapping) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """`standardize_names` of the name, where a latin name (`name_latin`: a card's embossed
    name) stands in for an empty or placeholder one; the standardized latin name (NULL
    unless latin script and no placeholder); and the raw text the name came from."""
    given = _column(raw, source, "name")
    names = standardize_names(given)
    name_raw = none_if_nan(given)
    if "name_latin" not in source.mapping:
        return names, pd.Series(None, index=raw.index, dtype=object), name_raw
    latin_given = _column(raw, source, "name_latin")
    latin = standardize_names(latin_given)
    usable = latin["name"].notna() & ~latin["name_is_junk"]
    stand_in = (names["name"].isna() | names["name_is_junk"]) & usable
    if stand_in.any():
        names = names.copy()
        names.loc[stand_in] = latin.loc[stand_in]
        name_raw = name_raw.where(~stand_in, none_if_nan(latin_given))
    name_latin = latin["name"].where(usable & latin["name_script"].eq("latin"))
    return names, none_if_nan(name_latin), name_raw


@dataclass
class _Fields:
    """Every field of a batch standardized, on the raw rows' index."""

    key: pd.Series
    updated: pd.DataFrame  # value, issue
    names: pd.DataFrame  # NAME_COLUMNS
    name_latin: pd.Series
    name_raw: pd.Series
    ids: pd.DataFrame  # `_documents`' columns
    other_ids: pd.Series
    orphaned_identifiers: int
    births: pd.DataFrame  # value, issue
    genders: pd.DataFrame  # gender, unknown
    identity: pd.DataFrame  # `reconcile_with_id`'s columns
    mobiles: pd.DataFrame  # the mobile column's `normalize_phones`
    phones: pd.DataFrame  # the other phone column's
    emails: pd.DataFrame
    addresses: pd.DataFrame
    mobile: pd.Series  # the record's mobile: the mobile column's, else the phone column's
    phone_other: pd.Series


def _standardize_fields(
    raw: pd.DataFrame,
    source: SourceMapping,
    now: pd.Timestamp,
    identifiers: pd.DataFrame | None,
) -> _Fields:
    """Each mapped field through its module's column function, the documents held against
    the identifiers table, the stated birth date and gender against the ID."""
    key = as_text(raw[source.key_column], strip=True)
    names, name_latin, name_raw = _names(raw, source)
    ids = _identity(raw, source, now)
    other_ids = pd.Series(None, index=raw.index, dtype=object)
    orphaned = 0
    if source.identifiers is not None and identifiers is not None:
        ids, other_ids, orphaned = _with_identifier_table(
            ids, key, identifiers, source.identifiers, source.source_system, now
        )
    births = parse_dates(_column(raw, source, "birth_date"), kind="birth_date", now=now)
    genders = decode_genders(_column(raw, source, "gender"), source.gender_codes)
    mobiles = normalize_phones(_column(raw, source, "mobile"))
    phones = normalize_phones(_column(raw, source, "phone"))
    mobile = mobiles["mobile"].where(mobiles["mobile"].notna(), phones["mobile"])
    second_mobile = phones["mobile"].where(phones["mobile"].ne(mobile))
    phone_other = mobiles["phone_other"]
    for more in (phones["phone_other"], second_mobile):
        phone_other = phone_other.where(phone_other.notna(), more)
    return _Fields(
        key=key,
        updated=parse_dates(_column(raw, source, "updated_at"), kind="timestamp", now=now),
        names=names,
        name_latin=name_latin,
        name_raw=name_raw,
        ids=ids,
        other_ids=other_ids,
        orphaned_identifiers=orphaned,
        births=births,
        genders=genders,
        identity=reconcile_with_id(births["value"], genders["gender"], ids),
        mobiles=mobiles,
        phones=phones,
        emails=normalize_emails(_column(raw, source, "email")),
        addresses=parse_addresses(_column(raw, source, "address")),
        mobile=mobile,
        phone_other=phone_other,
    )


def _first_rules(fields: _Fields) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Per row, the first quarantine rule it breaks (`rules.QUARANTINE_ORDER`; None: kept),
    and the rows whose key repeats (`repeated`) and those of them that are not the latest
    version (`superseded`)."""
    key, names, ids = fields.key, fields.names, fields.ids
    repeated = key.notna() & key.duplicated(keep=False)
    superseded = _superseded(key, fields.updated["value"], repeated)
    usable_id = ids["id_valid"] | (ids["id_issue"] == "not_resident_id") | fields.mobile.notna()
    conditions = {
        rules.MISSING_KEY.id: key.isna(),
        rules.DUPLICATE_KEY.id: superseded,
        rules.JUNK_NAME.id: names["name_is_junk"],
        rules.ORGANIZATION_NAME.id: names["name_is_org"],
        rules.NO_NAME_NO_ID.id: names["name"].isna() & ~usable_id,
    }
    first_rule = np.full(len(key), None, dtype=object)
    decided = np.zeros(len(key), dtype=bool)
    for rule in rules.QUARANTINE_ORDER:
        hit = conditions[rule.id].to_numpy(dtype=bool) & ~decided
        first_rule[hit] = rule.id
        decided |= hit
    return pd.Series(first_rule, index=key.index, dtype=object), repeated, superseded


def _row_batches(raw: pd.DataFrame, batch_id: str) -> pd.Series:
    """Each row's own `_batch_id` (its provenance), `batch_id` where it has none."""
    if "_batch_id" not in raw.columns:
        return pd.Series(batch_id, index=raw.index, dtype=object)
    # One or a few batches: decoded once per distinct value.
    codes, batches = pd.factorize(raw["_batch_id"], use_na_sentinel=True)
    decoded = [*as_text(pd.Series(batches, dtype=object)).fillna(batch_id), batch_id]
    return pd.Series(np.array(decoded, dtype=object)[codes], index=raw.index)


def _party_records(
    raw: pd.DataFrame,
    source: SourceMapping,
    fields: _Fields,
    row_batch: pd.Series,
    kept: np.ndarray,
) -> pd.DataFrame:
    """The kept rows' canonical records (`PARTY_COLUMNS`)."""
    names, ids, identity, addresses = fields.names, fields.ids, fields.identity, fields.addresses
    return _frame(
        {
            "record_key": source.source_system + ":" + fields.key,
            "source_system": source.source_system,
            "source_record_id": fields.key,
            "source_updated_at": fields.updated["value"],
            "batch_id": row_batch,
            "name_raw": fields.name_raw,
            "name": names["name"],
            "name_pinyin": names["name_pinyin"],
            "name_script": names["name_script"],
            "name_latin": fields.name_latin,
            "id_type": ids["id_type"],
            "id_number": ids["id_number"],
            "id_valid": ids["id_valid"],
            "id_issue": ids["id_issue"],
            "other_ids": fields.other_ids,
            "birth_date": identity["birth_date"].dt.normalize(),
            "gender": identity["gender"],
            "birth_date_stated": fields.births["value"].dt.normalize(),
            "gender_stated": fields.genders["gender"],
            "id_conflict": identity["id_conflict"],
            "mobile": fields.mobile,
            "phone_other": fields.phone_other,
            "email": fields.emails["email"],
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
        kept,
        PARTY_COLUMNS,
    )


def _issue_counts(
    source: SourceMapping, fields: _Fields, rule_of_row: pd.Series, kept: pd.Series
) -> dict[str, int]:
    """Rows per rule: the field rules over the records kept, the quarantine rules over all."""
    names, ids, identity = fields.names, fields.ids, fields.identity
    births, updated, mobiles, phones = fields.births, fields.updated, fields.mobiles, fields.phones
    addresses, mobile = fields.addresses, fields.mobile
    mapped = set(source.mapping)
    field_issues: dict[rules.Rule, pd.Series] = {
        rules.NAME_MISSING: names["name"].isna(),
        rules.NAME_TITLE_REMOVED: names["name_title_removed"],
        rules.NAME_TRADITIONAL: names["name_traditional"],
        rules.NAME_REORDERED: names["name_reordered"],
        rules.ID_TYPE_UNKNOWN: ids["id_type_unknown"],
        rules.ID_TYPE_CORRECTED: ids["id_type_corrected"],
        rules.BIRTH_DATE_MISSING: identity["birth_date"].isna(),
        rules.BIRTH_DATE_UNPARSEABLE: births["issue"] == "unparseable",
        rules.BIRTH_DATE_IMPOSSIBLE: births["issue"] == "impossible",
        rules.BIRTH_DATE_FUTURE: births["issue"] == "future",
        rules.BIRTH_DATE_TOO_OLD: births["issue"] == "too_old",
        rules.UPDATED_AT_UNPARSEABLE: updated["issue"].notna(),
        rules.BIRTH_DATE_ID_MISMATCH: identity["birth_overridden"],
        rules.BIRTH_DATE_FROM_ID: identity["birth_filled"],
        rules.ID_CONFLICT: identity["id_conflict"],
        rules.GENDER_UNKNOWN_CODE: fields.genders["unknown"],
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
        rules.EMAIL_INVALID: fields.emails["email_issue"].notna(),
        rules.ADDRESS_UNRESOLVED: addresses["address_issue"] == "unresolved",
        rules.ADDRESS_INCONSISTENT: addresses["address_issue"] == "inconsistent",
    }
    if "mobile" in mapped or "phone" in mapped:
        field_issues[rules.MOBILE_MISSING] = mobile.isna()
    if "address" in mapped:
        field_issues[rules.ADDRESS_MISSING] = addresses["address"].isna()
    if "updated_at" in mapped:
        field_issues[rules.UPDATED_AT_MISSING] = updated["value"].isna() & updated["issue"].isna()
    for code, rule in rules.ID_ISSUE_RULES.items():
        field_issues[rule] = ids["id_issue"] == code

    counts = {rule.id: 0 for rule in rules.RULES}
    for rule, flagged in field_issues.items():
        counts[rule.id] = int((flagged.astype(bool) & kept).sum())
    for rule in rules.QUARANTINE_ORDER:
        counts[rule.id] = int((rule_of_row == rule.id).sum())
    counts[rules.IDENTIFIER_WITHOUT_PARTY.id] = fields.orphaned_identifiers
    return counts


def standardize_source(
    raw: pd.DataFrame,
    source: SourceMapping,
    *,
    batch_id: str,
    now: pd.Timestamp | None = None,
    identifiers: pd.DataFrame | None = None,
) -> StandardizeResult:
    """Standardize one batch of one source's party rows.

    `raw` holds the source's own columns (strings or None) plus `_batch_id`, `_row_hash` and
    `_extracted_at`. A row's own `_batch_id` is its provenance; `batch_id` fills it when the
    column is absent or empty. `now` is the run time: future birth dates are judged against
    it and it stamps `quarantined_at` (default: the current time). `identifiers` is the raw
    identifiers table when the source maps one (`source.identifiers`; required then).
    One row alone: `matching.standardize.record.standardize_row`, without frames.
    """
    now = (pd.Timestamp.now() if now is None else pd.Timestamp(now)).floor("s")
    raw = raw.reset_index(drop=True)
    if source.key_column not in raw.columns:
        raise KeyError(f"{source.source_system}: key column {source.key_column!r} not in raw")
    if source.identifiers is not None and identifiers is None:
        raise ValueError(
            f"{source.source_system}: maps the identifiers table "
            f"{source.identifiers.table!r} but its rows were not given"
        )
    fields = _standardize_fields(raw, source, now, identifiers)
    rule_of_row, repeated, superseded = _first_rules(fields)
    kept = rule_of_row.isna()
    row_batch = _row_batches(raw, batch_id)
    records = _party_records(raw, source, fields, row_batch, np.flatnonzero(kept.to_numpy()))

    q_rows = np.flatnonzero(~kept.to_numpy())
    q_index = rule_of_row.index[q_rows]
    reasons = _reasons(
        rule_of_row[q_index],
        fields.key,
        fields.name_raw,
        fields.updated["value"],
        superseded,
        repeated,
        source,
    )
    quarantine = _frame(
        {
            "source_system": source.source_system,
            "source_record_id": fields.key.iloc[q_rows],
            "batch_id": row_batch.iloc[q_rows],
            "rule": rule_of_row.iloc[q_rows],
            "reason": pd.Series(reasons),
            "raw_payload": pd.Series(quarantine_payloads(raw.loc[q_index])),
            "quarantined_at": now,
        },
        np.arange(len(q_rows)),
        QUARANTINE_COLUMNS,
    )
    return StandardizeResult(
        records=records,
        quarantine=quarantine,
        issue_counts=_issue_counts(source, fields, rule_of_row, kept),
    )

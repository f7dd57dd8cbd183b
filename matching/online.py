"""One new record against the published records: `POST /match` without the I/O.

The batch blocks, compares, scores and decides whole tables; a candidate typed at a branch is
one record. Everything here reuses the batch's steps on small tables, so that a record scored
online gets the probability the batch gives the same pair:

* **Standardized** by the batch's rules on one row (`standardize_row`, the one-value path
  proven equal to `standardize_source`), through a mapping of the canonical fields onto
  themselves (`CANDIDATE_SOURCE`); its block keys from its values (`matching.keys.key_texts`,
  proven equal to the column derivations).
* **Blocked** by a *live index*: per blocking rule, a 64-bit hash of each record's block key
  (the rule's columns, match keys derived as `matching.keys` derives them), computed from the
  same `RecordColumns` encodings the batch blocks on (`block_key_hashes`). A key whose block
  the batch skips (larger than the rule's `max_block_size`) is left out of the index, so the
  candidate never meets those records either. Two keys that collide on 64 bits only add a
  candidate the comparison then scores as it is: a collision costs time, never a wrong score.
* **Compared and scored** as one frame of pairs (candidate, each record found) through
  `compare_pairs`, the model's `match_weights` and the engine's `decide` (zones, then the
  deterministic rules). Two things the batch learns from all records are stored with the
  index, per record: the term frequency of each tf-adjusted value (`tf_<comparison>`) and
  the name in its look-alike spelling (`name_lookalike`); the candidate's own name is spelled
  with the translation table the run learned (`spelling_table`).

The candidate's term frequency is left unknown (NaN): a tf-adjusted level holds only for
equal values, whose frequency the record found carries, and `fmax` takes it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from matching.blocking import prepare_records
from matching.comparison import RecordColumns, compare_pairs
from matching.config import MatchingConfig
from matching.engine import decide
from matching.keys import MATCH_KEYS, is_many, key_inputs, key_texts, optional_key_inputs
from matching.lookalikes import LOOKALIKE_COLUMN, canonical_spelling
from matching.model import ComparisonParameters, FellegiSunterModel
from matching.standardize.ids import RESIDENT_ID
from matching.standardize.party import DOCUMENT_PREFERENCE, PARTY_COLUMNS, SourceMapping
from matching.standardize.record import StandardizedRow, standardize_row
from matching.stewardship import waterfall_steps

#: The record key the candidate is scored under (never a source's: those hold a colon).
CANDIDATE_KEY = "candidate"
#: The fields a candidate may carry: the party fields a source maps, by their canonical names.
CANDIDATE_FIELDS = (
    "name",
    "name_latin",
    "id_type",
    "id_number",
    "gender",
    "birth_date",
    "mobile",
    "phone",
    "email",
    "address",
)
#: Canonical fields onto themselves: the candidate is a source whose columns are canonical.
CANDIDATE_SOURCE = SourceMapping(
    source_system="match",
    key_column="record_key",
    mapping={field: field for field in CANDIDATE_FIELDS},
    trust_rank=0,
    id_type_codes={code: code for code in (RESIDENT_ID, *DOCUMENT_PREFERENCE)},
)
#: Columns holding dates: kept as datetime64 in every frame scored here, written as ISO text
#: in the index (SQLite has no date type).
DATE_COLUMNS = frozenset(c for c, dtype in PARTY_COLUMNS.items() if dtype.startswith("datetime"))
_MIX = np.uint64(0x100000001B3)  # the FNV-64 prime: spreads each column's hash over the key
_MIX_INT = int(_MIX)
_UINT64 = (1 << 64) - 1


def tf_column(comparison: str) -> str:
    """The index column holding each record's term frequency for a tf-adjusted comparison."""
    return f"tf_{comparison}"


def record_columns(config: MatchingConfig, present: Sequence[str]) -> list[str]:
    """The party columns blocking, comparing and the rules read, among those `present`, with
    `record_key` first: what the live index keeps of each record."""
    wanted = config.required_columns
    needed = ["record_key", *key_inputs(wanted), *optional_key_inputs(wanted)]
    return [c for c in dict.fromkeys(needed) if c == "record_key" or c in present]


def uses_lookalike(config: MatchingConfig) -> bool:
    return any(level.column == LOOKALIKE_COLUMN for c in config.comparisons for level in c.levels)


def substitutions_json(substitutions: pd.DataFrame | None) -> str | None:
    """The look-alike substitutions a run learned (`a`, `b`, `support`), as stored beside
    its model; None when the run learned none because no comparison reads them."""
    if substitutions is None:
        return None
    rows = [
        [str(a), str(b), int(s)]
        for a, b, s in zip(
            substitutions["a"], substitutions["b"], substitutions["support"], strict=True
        )
    ]
    return json.dumps(rows, ensure_ascii=False)


def substitutions_from_json(text: str | None) -> pd.DataFrame:
    rows = json.loads(text) if text else []
    frame = pd.DataFrame(rows, columns=["a", "b", "support"])
    return frame.astype({"a": object, "b": object, "support": "int64"})


def typed(records: pd.DataFrame) -> pd.DataFrame:
    """`records` with its dates as datetime64, however they were read (DuckDB's dates,
    SQLite's ISO text, a caller's string): equal dates then encode to equal codes. Booleans
    need nothing: the rules and keys test them with `eq(True)`, which 1 and True pass alike.
    """
    records = records.copy(deep=False)
    for column in DATE_COLUMNS.intersection(records.columns):
        records[column] = pd.to_datetime(records[column], errors="coerce").astype("datetime64[ns]")
    return records


def _value_hashes(columns: RecordColumns, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(positions, hash) of every present value of `column`: one 64-bit hash per distinct
    value (of its text, as `RecordColumns.text` writes it), looked up per record."""
    if is_many(column):
        items = columns.items(column)
        values = np.asarray([str(v) for v in items.values], dtype=object)
        hashes = pd.util.hash_array(values, categorize=False)
        return items.positions, hashes[items.codes]
    codes = columns.codes(column)
    positions = np.flatnonzero(codes >= 0)
    key = MATCH_KEYS.get(column)
    if key is not None and key.coded_from is not None:  # codes numbered within this frame
        column = key.coded_from
        codes = columns.codes(column)
    hashes = pd.util.hash_array(np.asarray(columns.text(column), dtype=object), categorize=False)
    return positions, hashes[codes[positions]]


def block_key_hashes(columns: RecordColumns, config: MatchingConfig) -> pd.DataFrame:
    """Every record's block key under every blocking rule (`key`: int64, `position`: the
    record's row, `rule`: the rule's number), one row per (rule, record, key); the rule's
    number is hashed in, so two rules never share a key."""
    keys: list[np.ndarray] = []
    positions: list[np.ndarray] = []
    rules: list[np.ndarray] = []
    n = len(columns)
    for number, rule in enumerate(config.blocking_rules):
        many = [c for c in rule.columns if is_many(c)]
        ordered = [*many, *[c for c in rule.columns if not is_many(c)]]
        # A key of several values (one at most per rule) gives the rows; each other column
        # must be present on the record.
        rows, key = _value_hashes(columns, ordered[0])
        key = (np.uint64(number + 1) * _MIX) ^ key
        for column in ordered[1:]:
            present = np.zeros(n, dtype=bool)
            value = np.zeros(n, dtype=np.uint64)
            where, hashes = _value_hashes(columns, column)
            present[where], value[where] = True, hashes
            keep = present[rows]
            rows, key = rows[keep], (key[keep] * _MIX) ^ value[rows[keep]]
        keys.append(key)
        positions.append(rows.astype(np.int64))
        rules.append(np.full(len(rows), number, dtype=np.int64))
    return pd.DataFrame(
        {
            "key": np.concatenate(keys).view(np.int64),
            "position": np.concatenate(positions),
            "rule": np.concatenate(rules),
        }
    )


def rule_caps(config: MatchingConfig) -> np.ndarray:
    return np.array(
        [rule.max_block_size or config.max_block_size for rule in config.blocking_rules]
    )


@dataclass
class LiveIndex:
    """What the index holds: the records (`record_columns`, `name_lookalike`, `tf_*`) in
    `record_key` order, their block keys (`key`, `position` into `records`, sorted by key
    then position), and the look-alike translation table a candidate's name is spelled
    with."""

    records: pd.DataFrame
    keys: pd.DataFrame
    spelling: dict[int, str]


def build_live_index(
    records: pd.DataFrame,
    config: MatchingConfig,
    model: FellegiSunterModel,
    substitutions: pd.DataFrame | None,
) -> LiveIndex:
    """The live index of the published party records, as the run that published them saw
    them: term frequencies over all of them, the run's look-alike substitutions, and every
    block key but those of blocks the batch skips as oversized."""
    wanted = record_columns(config, list(records.columns))
    prepared = prepare_records(typed(records[wanted]), config)
    columns = RecordColumns(prepared)
    out = prepared.copy(deep=False)
    spelling: dict[int, str] = {}
    if uses_lookalike(config):
        spelling = canonical_spelling(
            substitutions if substitutions is not None else substitutions_from_json(None),
            prepared["name"],
        )
        out[LOOKALIKE_COLUMN] = spelled(prepared["name"], spelling)
    for comparison, frequency in model.term_frequencies(columns).items():
        out[tf_column(comparison)] = frequency
    keys = block_key_hashes(columns, config)
    # Sorted by key, then position (one sort, which also finds each block's size): the order
    # a B-tree on the two is filled fastest in.
    key = keys["key"].to_numpy(dtype=np.int64)
    position = keys["position"].to_numpy(dtype=np.int64)
    order = np.lexsort((position, key))
    key, position, rule = key[order], position[order], keys["rule"].to_numpy()[order]
    # Keep the keys of blocks the batch keeps: at most the rule's cap of records. The rule
    # is hashed into the key, so a key's run of rows is its block.
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    sizes = np.diff(np.r_[starts, len(key)])
    keep = np.repeat(sizes, sizes) <= rule_caps(config)[rule]
    return LiveIndex(
        records=out,
        keys=pd.DataFrame({"key": key[keep], "position": position[keep]}),
        spelling=spelling,
    )


def spelled(names: pd.Series, spelling: Mapping[int, str]) -> np.ndarray:
    """Each name in its look-alike spelling (None where there is no name)."""
    codes, uniques = pd.factorize(names, use_na_sentinel=True)
    translated = np.array([str(u).translate(spelling) for u in uniques], dtype=object)
    values = np.full(len(codes), None, dtype=object)
    values[codes >= 0] = translated[codes[codes >= 0]]
    return values


def standardize_candidate(fields: Mapping[str, str | None]) -> StandardizedRow:
    """The candidate's canonical record (as values) or the quarantine rule it breaks, by the
    batch's rules on one row (`standardize_row`, proven equal to `standardize_source`)."""
    row = {"record_key": CANDIDATE_KEY, **{f: fields.get(f) for f in CANDIDATE_FIELDS}}
    return standardize_row(row, CANDIDATE_SOURCE, batch_id="match")


def _hash_texts(texts: list[str]) -> dict[str, int]:
    """Each text's 64-bit hash, as `_value_hashes` hashes a column's distinct values."""
    hashes = pd.util.hash_array(np.asarray(texts, dtype=object), categorize=False)
    return dict(zip(texts, hashes.tolist(), strict=True))


def candidate_keys(record: Mapping[str, object], config: MatchingConfig) -> list[int]:
    """The candidate's block keys, every rule's, as the index holds them (`block_key_hashes`
    on one record, from its values: `matching.keys.key_texts`)."""
    rules: list[tuple[int, list[tuple[str, ...]]]] = []
    for number, rule in enumerate(config.blocking_rules):
        ordered = sorted(rule.columns, key=lambda c: not is_many(c))  # the one many-key first
        values = [key_texts(record, column) for column in ordered]
        if all(values):
            rules.append((number, values))
    hashes = _hash_texts(sorted({t for _, values in rules for texts in values for t in texts}))
    keys: set[int] = set()
    for number, values in rules:
        for first in values[0]:
            key = (((number + 1) * _MIX_INT) & _UINT64) ^ hashes[first]
            for texts in values[1:]:
                key = ((key * _MIX_INT) & _UINT64) ^ hashes[texts[0]]
            keys.add(key - (1 << 64) if key >= 1 << 63 else key)  # as int64, as the index
    return sorted(keys)


@dataclass
class ScoredCandidates:
    """The candidate's pairs with the records found: `record_key`, the gammas, `match_weight`,
    `match_probability`, `zone`, `deterministic_rule` (one row per record, found order); and
    what their explanation needs."""

    pairs: pd.DataFrame
    frame: pd.DataFrame  # the candidate (row 0) and the records found, as scored
    term_frequencies: dict[str, np.ndarray]


def score_candidate(
    candidate: Mapping[str, object],
    found: pd.DataFrame,
    config: MatchingConfig,
    model: FellegiSunterModel,
    spelling: Mapping[int, str],
) -> ScoredCandidates:
    """Score the candidate (one standardized record, as values) against the index records
    `found`, all pairs at once: the batch's comparison, weights (term frequencies as the
    index holds them) and decision (zones, deterministic rules)."""
    wanted = [c for c in record_columns(config, list(found.columns)) if c in candidate]
    head = {**candidate, "record_key": CANDIDATE_KEY}
    # As objects: a column the candidate lacks (all None) must not decide the column's dtype.
    # Column by column with numpy: the candidate's value before the records', without a
    # frame of its own or `pd.concat` (milliseconds of overhead a request).
    columns_of: dict[str, np.ndarray] = {}
    for column in wanted:
        values = np.empty(len(found) + 1, dtype=object)
        values[0] = head[column]
        values[1:] = found[column].to_numpy(dtype=object)
        columns_of[column] = values
    frame = typed(pd.DataFrame(columns_of, columns=wanted, copy=False))
    columns = RecordColumns(frame)
    if uses_lookalike(config):
        names = np.empty(len(frame), dtype=object)
        names[0] = spelled(pd.Series([head.get("name")], dtype=object), spelling)[0]
        names[1:] = found[LOOKALIKE_COLUMN].to_numpy(dtype=object)
        columns.add_column(LOOKALIKE_COLUMN, names)
    idx_r = np.arange(1, len(frame), dtype=np.int64)
    idx_l = np.zeros(len(idx_r), dtype=np.int64)
    gammas = compare_pairs(columns, idx_l, idx_r, config.comparisons)
    frequencies: dict[str, np.ndarray] = {}
    for c in model.comparisons:
        if c.tf_column is not None and tf_column(c.name) in found.columns:
            frequency = found[tf_column(c.name)].to_numpy(dtype=np.float64)
            frequencies[c.name] = np.concatenate([[np.nan], frequency])
    weight = model.match_weights(gammas, idx_l, idx_r, frequencies)
    scored = pd.DataFrame(
        {
            "idx_l": idx_l,
            "idx_r": idx_r,
            "record_key_l": CANDIDATE_KEY,
            "record_key_r": frame["record_key"].to_numpy(dtype=object)[idx_r],
            **{name: gammas[name].to_numpy() for name in gammas.columns},
            "match_weight": weight,
            "match_probability": model.probability(weight),
        }
    )
    scored = decide(frame, scored, config, columns=columns)
    return ScoredCandidates(pairs=scored, frame=frame, term_frequencies=frequencies)


def explanation(
    model: FellegiSunterModel, scored: ScoredCandidates, row: int
) -> list[dict[str, Any]]:
    """The waterfall of pair `row` (the steward page's `match_weight_waterfall`, as rows),
    for the candidates returned only. The pair's levels and record positions are read off its
    row, so no record key is looked up and no frame is built."""
    pairs = scored.pairs
    gammas = {c.name: int(pairs[c.gamma_column].to_numpy()[row]) for c in model.comparisons}
    left = int(pairs["idx_l"].to_numpy()[row])
    right = int(pairs["idx_r"].to_numpy()[row])

    def pair_frequencies(c: ComparisonParameters) -> tuple[float, float]:
        # A comparison without stored frequencies was weighed with its plain u
        # (`match_weights`), which NaN frequencies explain the same way.
        frequency = scored.term_frequencies.get(c.name)
        if frequency is None:
            return math.nan, math.nan
        return float(frequency[left]), float(frequency[right])

    return waterfall_steps(model.explain_levels(gammas, pair_frequencies))


def best_per_group(pairs: pd.DataFrame, group: np.ndarray) -> np.ndarray:
    """Rows of `pairs` holding the best pair of each group (highest probability, then weight,
    then record key), the groups ranked the same way; a pair whose group is None is in none.
    One stable sort of the few pairs found."""
    probability = pairs["match_probability"].to_numpy(dtype=np.float64)
    weight = pairs["match_weight"].to_numpy(dtype=np.float64)
    key = pairs["record_key_r"].to_numpy(dtype=object)
    order = np.lexsort((key, -weight, -probability))
    order = order[pd.notna(group[order])]
    if len(order) == 0:
        return order
    _, first = np.unique(group[order].astype(str), return_index=True)
    return order[np.sort(first)]


def best_first(pairs: pd.DataFrame) -> np.ndarray:
    """Rows of `pairs` by probability, then weight, highest first; ties in found order."""
    probability = pairs["match_probability"].to_numpy(dtype=np.float64)
    weight = pairs["match_weight"].to_numpy(dtype=np.float64)
    return np.lexsort((-weight, -probability))

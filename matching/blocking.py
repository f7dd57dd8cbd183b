"""Candidate pairs: the union of the blocking rules' blocks.

A blocking rule pairs every two records that share all of its columns (each non-null). Pairs
are built per rule by a self-merge on a block id, so cost grows with the sum of squared block
sizes, never with n². A block larger than `max_block_size` would be a near cross join (a
placeholder mobile, a default birth date): it is skipped, logged and listed in the report.

Records are addressed by position in the frame sorted by `record_key` (see
`prepare_records`), so `idx_l < idx_r` is the same as `record_key_l < record_key_r`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.comparison import RecordColumns
from matching.config import BlockingRule, MatchingConfig
from matching.keys import is_many, key_inputs, optional_key_inputs

log = logging.getLogger(__name__)

PAIR_COLUMNS = ["idx_l", "idx_r", "record_key_l", "record_key_r", "blocking_rule"]
#: Per rule, how many of its skipped blocks the report names (the largest).
SKIPPED_BLOCKS_KEPT = 100


@dataclass(frozen=True)
class SkippedBlock:
    rule: str
    key: dict[str, object]
    size: int


@dataclass
class BlockingReport:
    n_records: int
    pairs_per_rule: dict[str, int]  # every pair the rule produces, found earlier or not
    new_pairs_per_rule: dict[str, int]  # pairs labelled with the rule (it found them first)
    total_pairs: int
    comparable_pairs: int  # n(n-1)/2, or fewer under link_only / dedupe_only
    skipped_blocks: list[SkippedBlock] = field(default_factory=list)

    @property
    def reduction_ratio(self) -> float:
        """Share of all comparable pairs that blocking avoided comparing."""
        if self.comparable_pairs == 0:
            return 0.0
        return 1.0 - self.total_pairs / self.comparable_pairs


def prepare_records(
    records: pd.DataFrame, config: MatchingConfig, *, only_needed: bool = False
) -> pd.DataFrame:
    """Records sorted by `record_key` with a fresh RangeIndex; checks that the columns the
    config names, or those its match keys derive from (`matching.keys`), are there.

    With `only_needed`, records that must be reordered keep just `record_key` and the columns
    the config uses (less to reorder; `link` does this, as it returns no records).
    """
    wanted = config.required_columns
    needed = ["record_key", *key_inputs(wanted)]
    missing = [c for c in needed if c not in records.columns]
    if missing:
        raise ValueError(f"records lack the columns the matching config uses: {missing}")
    keys = records["record_key"]
    if keys.isna().any():
        raise ValueError("records have a null record_key")
    if not (keys.is_monotonic_increasing and records.index.equals(pd.RangeIndex(len(records)))):
        if only_needed:  # fewer columns to reorder
            extra = [c for c in optional_key_inputs(wanted) if c in records.columns]
            records = records[list(dict.fromkeys([*needed, *extra]))]
        # Arrow's sort of strings is several times faster than NumPy's on object arrays; the
        # order is the same (UTF-8 bytes sort like code points) and stable.
        order = pc.sort_indices(pa.array(keys.to_numpy(dtype=object), type=pa.string()))
        records = records.take(order.to_numpy()).reset_index(drop=True)
    # Already in order: the frame itself, not a copy (the encodings read only what they need).
    sorted_keys = records["record_key"].to_numpy(dtype=object)
    repeated = np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1])
    if len(repeated):
        raise ValueError(f"record_key is not unique, e.g. {sorted_keys[repeated[:5]].tolist()}")
    return records


def comparable_pair_count(records: pd.DataFrame, config: MatchingConfig) -> int:
    n = len(records)
    if config.link_type == "link_and_dedupe":
        return n * (n - 1) // 2
    sizes = records[config.source_column].value_counts(dropna=False).to_numpy(dtype=np.int64)
    within = int((sizes * (sizes - 1) // 2).sum())
    return within if config.link_type == "dedupe_only" else n * (n - 1) // 2 - within


def _rule_pairs(
    records: pd.DataFrame,
    columns: RecordColumns,
    rule: BlockingRule,
    max_block_size: int,
    skipped: list[SkippedBlock],
    focus: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    positions, block = columns.block_members(rule.columns)
    if len(positions) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    sizes = np.bincount(block)
    note_skipped_blocks(columns, rule, positions, block, sizes, max_block_size, skipped)
    # Singleton blocks make no pairs; dropping them first keeps the work small.
    keep = (sizes[block] >= 2) & (sizes[block] <= max_block_size)
    if focus is not None:
        # Sizes (and so the cap) are counted over every record; only the blocks holding a
        # focus record are paired out.
        holds_focus = np.zeros(len(sizes), dtype=bool)
        holds_focus[block[focus[positions]]] = True
        keep &= holds_focus[block]
    block, positions = block[keep], positions[keep]
    left, right = within_block_pairs(block, positions)
    if focus is not None:
        touching = focus[left] | focus[right]
        left, right = left[touching], right[touching]
    if any(is_many(column) for column in rule.columns) and (positions[1:] == positions[:-1]).any():
        # A record in several blocks (one per item: positions come sorted) pairs twice with a
        # record sharing two of its items.
        width = max(len(records), 1)
        code = np.sort(left * width + right)
        distinct = np.ones(len(code), dtype=bool)
        distinct[1:] = code[1:] != code[:-1]
        left, right = np.divmod(code[distinct], width)
    return left, right


def note_skipped_blocks(
    columns: RecordColumns,
    rule: BlockingRule,
    positions: np.ndarray,
    block: np.ndarray,
    sizes: np.ndarray,
    max_block_size: int,
    skipped: list[SkippedBlock],
) -> None:
    """Append the rule's blocks larger than `max_block_size` to `skipped` (the largest
    `SKIPPED_BLOCKS_KEPT`, with their keys) and log how many there were (counts only).
    `positions` / `block` as `RecordColumns.block_members` gives them, `sizes` per block."""
    oversized = np.flatnonzero(sizes > max_block_size)
    if not len(oversized):
        return
    # The first member of each oversized block, found in one pass over the records; the
    # report keeps the largest blocks' keys (for a steward to see), the log only counts.
    first_of = np.full(len(sizes), -1, dtype=np.int64)
    first_of[block[::-1]] = positions[::-1]
    largest = oversized[np.argsort(-sizes[oversized], kind="stable")[:SKIPPED_BLOCKS_KEPT]]
    for block_id in largest:
        first = int(first_of[block_id])
        key: dict[str, object] = {c: columns.value(c, first) for c in rule.columns}
        skipped.append(SkippedBlock(rule=rule.name, key=key, size=int(sizes[block_id])))
    # The keys are personal data (names, mobiles, IDs): counted in the log, never shown.
    log.warning(
        "blocking rule %r: %d blocks larger than max_block_size=%d skipped "
        "(%d records, the largest %d); their pairs are not compared",
        rule.name,
        len(oversized),
        max_block_size,
        int(sizes[oversized].sum()),
        int(sizes[oversized].max()),
    )


def within_block_pairs(block: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (l < r) of `positions` sharing a `block` value, without a merge.

    Sorted by (block, position), the members of a block are a run; the pairs at distance d
    within runs are (k, k + d) where the block at k + d is still the same. Each pass keeps
    only the members of runs longer than d, so the work is about the number of pairs (runs
    are at most max_block_size long).
    """
    if len(block) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    # Stable: positions come in increasing order, so each run stays sorted by position.
    order = np.argsort(block, kind="stable")
    if len(positions) > 1 and not (np.diff(positions) > 0).all():
        order = np.lexsort((positions, block))
    block = block[order]
    positions = positions[order].astype(np.int64)
    lefts: list[np.ndarray] = []
    rights: list[np.ndarray] = []
    starts = np.arange(len(block) - 1)
    distance = 1
    while len(starts):
        ends = starts + distance
        inside = ends < len(block)
        starts, ends = starts[inside], ends[inside]
        same = block[starts] == block[ends]
        starts, ends = starts[same], ends[same]
        lefts.append(positions[starts])
        rights.append(positions[ends])
        distance += 1
    return np.concatenate(lefts), np.concatenate(rights)


def pairs_of_each_rule(
    records: pd.DataFrame,
    config: MatchingConfig,
    columns: RecordColumns | None = None,
    skipped: list[SkippedBlock] | None = None,
    focus: np.ndarray | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every pair (idx_l < idx_r) each blocking rule produces, in config order, comparable
    under the link type, one rule at a time; oversized blocks are appended to `skipped`.
    `records` prepared; `focus` (a mask over them): only the pairs holding a focus record."""
    columns = columns or RecordColumns(records)
    skipped = [] if skipped is None else skipped
    source = (
        records[config.source_column].to_numpy() if config.link_type != "link_and_dedupe" else None
    )
    for rule in config.blocking_rules:
        cap = rule.max_block_size or config.max_block_size
        left, right = _rule_pairs(records, columns, rule, cap, skipped, focus)
        if source is not None:
            same_source = source[left] == source[right]
            keep = same_source if config.link_type == "dedupe_only" else ~same_source
            left, right = left[keep], right[keep]
        yield left, right


def block_pairs(
    records: pd.DataFrame,
    config: MatchingConfig,
    *,
    columns: RecordColumns | None = None,
    focus: np.ndarray | None = None,
) -> tuple[pd.DataFrame, BlockingReport]:
    """Candidate pairs (columns `PAIR_COLUMNS`) and the report of how they were found.

    `records` must be prepared (`prepare_records`): positions index the sorted frame. A value
    is missing when null or blank (see `RecordColumns.codes`). With `focus` (a boolean mask
    over `records`), only the pairs holding at least one focus record: an incremental run's
    pairs of its new and changed records against every record, under the same block caps.
    """
    columns = columns or RecordColumns(records)
    n = len(records)
    width = max(n, 1)
    skipped: list[SkippedBlock] = []
    # Each rule's pairs as one int64 code (l * n + r), built rule by rule so that only the
    # codes, not the position arrays, are held for every rule at once.
    codes: list[np.ndarray] = []
    rule_ids: list[np.ndarray] = []
    pairs_per_rule: dict[str, int] = {}
    for rule_id, (rule, (left, right)) in enumerate(
        zip(
            config.blocking_rules,
            pairs_of_each_rule(records, config, columns, skipped, focus),
            strict=True,
        )
    ):
        pairs_per_rule[rule.name] = len(left)
        codes.append(left.astype(np.int64) * width + right)
        rule_ids.append(np.full(len(left), rule_id, dtype=np.int16))
        del left, right
    code = np.concatenate(codes) if codes else np.empty(0, dtype=np.int64)
    rule_of_pair = np.concatenate(rule_ids) if rule_ids else np.empty(0, dtype=np.int16)
    del codes, rule_ids
    # Rules were concatenated in config order, so the first occurrence of a pair carries the
    # first rule that found it; a hash pass finds it (cheaper than sorting every rule's pairs),
    # then the distinct pairs are sorted by (l, r).
    first = np.flatnonzero(~pd.Series(code, copy=False).duplicated(keep="first").to_numpy())
    first = first[np.argsort(code[first], kind="stable")]
    code, rule_of_pair = code[first], rule_of_pair[first]
    del first
    left, right = np.divmod(code, width)

    names = [rule.name for rule in config.blocking_rules]
    keys = records["record_key"].to_numpy()
    pairs = pd.DataFrame(
        {
            "idx_l": left,
            "idx_r": right,
            "record_key_l": keys[left],
            "record_key_r": keys[right],
            "blocking_rule": pd.Categorical.from_codes(
                rule_of_pair,  # type: ignore[arg-type]  # stubs want a list; an array is faster
                categories=pd.Index(names),
            ),
        }
    )
    counts = np.bincount(rule_of_pair, minlength=len(names))
    report = BlockingReport(
        n_records=n,
        pairs_per_rule=pairs_per_rule,
        new_pairs_per_rule={name: int(c) for name, c in zip(names, counts, strict=True)},
        total_pairs=len(pairs),
        comparable_pairs=comparable_pair_count(records, config),
        skipped_blocks=skipped,
    )
    return pairs, report

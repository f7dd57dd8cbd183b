"""The incremental match that reads only the delta gives what the one reading everything gives.

`match_delta` blocks the changed records by SQL on the stored block keys, counts term
frequencies on the stored term keys and expands the touched region in SQL;
`match_changed_records` blocks them against every record in memory (`block_pairs(focus=...)`),
counts term frequencies over every record and takes components over every pair. On a
simulated bank (600 people) after a full run and 3% of rows changed (new mobiles, other
customers' addresses), both must find the same candidate pairs with the same match weights
and zones, the same region and the same clusters, on DuckDB and on PostgreSQL; and the key
tables the incremental run leaves must equal those a full run would write on the new records.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from benchmarks.bench_incremental import (
    full_run,
    landed,
    row_hashes,
    standardized,
    with_changes,
)
from benchmarks.bench_pipeline import noise_config, read_party_tables, simulated_sources
from connectors import tables
from connectors.incremental import (
    changed_record_keys,
    changed_record_keys_in,
    current_spelling,
    match_delta,
    match_incrementally,
    match_key_tables,
    merge_standardized,
)
from connectors.settings import PROJECT_ROOT
from connectors.warehouse import Warehouse
from matching import MatchingConfig
from matching.golden import SurvivorshipConfig
from matching.incremental import match_changed_records
from matching.lookalikes import canonical_spelling
from matching.model import FellegiSunterModel
from matching.online import substitutions_from_json
from matching.stewardship import constraints_from_decisions

PEOPLE = 600
NOW = pd.Timestamp("2026-11-30 08:00:00").as_unit("ns")


def _key_set(frame: pd.DataFrame) -> set[tuple[str, int, int]]:
    return set(
        zip(
            frame["record_key"].astype(str),
            frame["rule"].astype("int64"),
            frame["key"].astype("int64"),
            strict=True,
        )
    )


def test_the_delta_match_equals_the_match_that_reads_every_record(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    document = yaml.safe_load((PROJECT_ROOT / "mdm.yaml").read_text(encoding="utf-8"))
    sources = document["sources"]
    matching = MatchingConfig.model_validate(document["matching"])
    survivorship = SurvivorshipConfig.model_validate(document["survivorship"])
    simulated_sources(tmp_path / "sources", PEOPLE, 3, noise_config(1.0))
    raw = {n: landed(f, "b0") for n, f in read_party_tables(tmp_path / "sources", sources).items()}
    full_run(warehouse, raw, sources, matching, survivorship, now=NOW)

    changed_raw = with_changes(raw, sources, 0.03, np.random.default_rng(7), "b1")
    hashes = row_hashes(changed_raw, sources)
    changed = changed_record_keys(hashes, warehouse.read_table(tables.PARTY_ROW_HASHES))
    assert len(changed) > 20  # a real change: the comparison below is not vacuous
    fresh = standardized(changed_raw, sources, NOW, changed)
    merge_standardized(warehouse, changed, fresh, None, hashes, "inc-1")

    model_row = warehouse.read_table(tables.MATCH_MODEL)
    model = FellegiSunterModel.from_json(str(model_row["model_json"].iloc[0]))
    constraints = constraints_from_decisions(pd.DataFrame(), None)
    records = warehouse.read_table(tables.PARTY_RECORDS)
    everything = match_changed_records(
        records,
        changed,
        prior_scored=warehouse.read_table(tables.SCORED_PAIRS),
        prior_xref=warehouse.read_table(tables.XREF, ["record_key", "golden_id"]),
        model=model,
        matching=matching,
        constraints=constraints,
    )
    delta, _ = match_delta(
        warehouse,
        changed,
        model=model,
        substitutions=str(model_row["lookalike_json"].iloc[0]),
        matching=matching,
        constraints=constraints,
    )

    # The look-alike spelling from characters counted in SQL is the one from every name.
    substitutions = substitutions_from_json(str(model_row["lookalike_json"].iloc[0]))
    assert len(substitutions) > 0
    assert current_spelling(warehouse, substitutions) == canonical_spelling(
        substitutions, records["name"]
    )

    assert delta.candidate_pairs == everything.candidate_pairs > 0
    assert list(delta.record_keys) == list(everything.record_keys)
    columns = ["record_key_l", "record_key_r", "blocking_rule", "zone"]
    ours = delta.added_pairs.sort_values(columns[:2]).reset_index(drop=True)
    theirs = everything.added_pairs.sort_values(columns[:2]).reset_index(drop=True)
    pd.testing.assert_frame_equal(ours[columns], theirs[columns])
    # Term frequencies counted in SQL: the same weights, to float rounding.
    np.testing.assert_allclose(ours["match_weight"], theirs["match_weight"], rtol=1e-9)

    def partition(clusters: pd.DataFrame) -> set[frozenset[str]]:
        return {frozenset(g) for _, g in clusters.groupby("cluster_id")["record_key"]}

    assert partition(delta.clusters) == partition(everything.clusters)

    # The run writes the changed records' keys: the tables then hold what a full run on
    # the records as they are now would write.
    match_incrementally(
        warehouse, changed, matching=matching, constraints=constraints, run_id="inc-1"
    )
    expected = match_key_tables(warehouse.read_table(tables.PARTY_RECORDS), matching, model)
    for table in (tables.BLOCK_KEYS, tables.TERM_KEYS):
        assert _key_set(warehouse.read_table(table)) == _key_set(expected[table])


def test_the_changed_keys_found_in_the_warehouse_are_those_found_in_memory(
    warehouse: Warehouse,
) -> None:
    """New, changed and gone records are found by the join in the warehouse exactly as by
    the merge in memory; unchanged ones are not."""
    prior = pd.DataFrame(
        {"record_key": ["core:1", "core:2", "core:3", "crm:1"], "row_hash": ["a", "b", "c", "d"]}
    )
    current = pd.DataFrame(
        {"record_key": ["core:1", "core:2", "crm:1", "crm:2"], "row_hash": ["a", "B", "d", "e"]}
    )
    warehouse.replace_table(tables.PARTY_ROW_HASHES, prior)
    found = changed_record_keys_in(warehouse, current)
    assert list(found) == ["core:2", "core:3", "crm:2"]
    assert sorted(changed_record_keys(current, prior)) == list(found)
    assert list(changed_record_keys_in(warehouse, prior)) == []

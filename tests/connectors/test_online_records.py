"""Records posted one by one (`POST /records`'s library call) end where one batch run ends.

On a simulated bank (400 people, three sources), a full run builds the warehouse (a real
DuckDB file) from 92% of every source's rows and publishes the serving snapshot. The held-out
rows are then posted one at a time through `connectors.online_records.upsert_record`, each
standardized with its source's mapping, matched against every record with the stored model
and its region re-clustered and re-survived, the snapshot patched. A batch run on all the
rows, with the same model and the golden state the first run left, must give the same
clusters and golden IDs.

What is not compared, and why: events and history (forty writes log forty steps where one run
logs one), and the number a brand-new golden ID gets (both issue fresh IDs past the highest,
in a different order: the test checks the same records share one). Where the two may differ
is what an incremental run may differ in (tests/connectors/test_incremental_runs.py): kept
pairs keep the weight they were scored with when term frequencies move, a block crossing its
size cap is not re-paired, and nothing re-trains. None does on this data.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from benchmarks.bench_incremental import full_run, landed, standardized
from benchmarks.bench_pipeline import noise_config, read_party_tables, simulated_sources
from connectors import run_lock
from connectors.online_records import (
    RecordRejected,
    source_mappings,
    standardize_posted,
    upsert_record,
)
from connectors.settings import PROJECT_ROOT, Settings
from connectors.warehouse import DuckDBWarehouse
from matching import MatchingConfig, link
from matching.golden import SurvivorshipConfig, build_golden_records
from matching.incremental import applied_config_json
from matching.model import FellegiSunterModel

PEOPLE = 400
HELD_OUT = 0.08
NOW = pd.Timestamp("2026-11-30 08:00:00").as_unit("ns")


def _partition(clusters: pd.DataFrame) -> set[frozenset[str]]:
    return {frozenset(group) for _, group in clusters.groupby("cluster_id")["record_key"]}


def _posted_row(frame: pd.DataFrame, row: int, mapping_columns: set[str]) -> dict[str, object]:
    """A raw row as its source system would post it: the columns its mapping reads."""
    values = frame.iloc[row]
    return {c: (None if pd.isna(values[c]) else values[c]) for c in mapping_columns}


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict[str, pd.DataFrame]]:
    document = yaml.safe_load((PROJECT_ROOT / "mdm.yaml").read_text(encoding="utf-8"))
    folder: Path = tmp_path_factory.mktemp("online_records")
    simulated_sources(folder, PEOPLE, 23, noise_config(1.0))
    raw = read_party_tables(folder, document["sources"])
    return document, {name: landed(frame, "b0") for name, frame in raw.items()}


def test_records_posted_one_by_one_end_where_one_batch_run_ends(
    bank: tuple[dict, dict[str, pd.DataFrame]], tmp_path: Path
) -> None:
    document, raw = bank
    sources = document["sources"]
    matching = MatchingConfig.model_validate(document["matching"])
    survivorship = SurvivorshipConfig.model_validate(document["survivorship"])
    rng = np.random.default_rng(7)
    held = {name: rng.random(len(frame)) < HELD_OUT for name, frame in raw.items()}
    first = {name: frame[~held[name]].reset_index(drop=True) for name, frame in raw.items()}

    settings = Settings(home=tmp_path / "var")
    settings.home.mkdir()
    store = DuckDBWarehouse(settings.home / "warehouse.duckdb")
    full_run(store, first, sources, matching, survivorship, now=NOW)
    model = store.read_table("mdm.match_model")
    store.replace_tables(
        {"mdm.match_model": model.assign(config_json=applied_config_json(matching, survivorship))}
    )
    store.publish(settings.resolved_serving_path)
    baseline = DuckDBWarehouse(tmp_path / "baseline.duckdb")
    full_run(baseline, first, sources, matching, survivorship, now=NOW)
    ids_before = set(store.read_table("mdm.golden_records")["golden_id"])

    mappings = source_mappings(settings.config_path)
    outcomes: list[str] = []
    logged = 0
    for name, frame in raw.items():
        mapping = mappings[name]
        columns = {mapping.key_column, *mapping.mapping.values()} & set(frame.columns)
        for row in np.flatnonzero(held[name]):
            result = upsert_record(
                settings, mapping, _posted_row(frame, int(row), columns), now=NOW
            )
            outcomes.append(result.outcome)
            logged += len(result.events)
            assert result.snapshot == "patched"
    posted = sum(int(mask.sum()) for mask in held.values())
    assert len(outcomes) == posted
    # New customers and new records of known ones both arrive (the simulator's systems share
    # most of their customers): some posts join a golden record, others create one.
    assert "joined" in outcomes and "created" in outcomes

    # One batch run on every row, from the first run's golden state, with its model.
    records = standardized(raw, sources, NOW)
    batch = link(
        records, matching, model=FellegiSunterModel.from_json(str(model["model_json"].iloc[0]))
    )
    golden = build_golden_records(
        records,
        batch.clusters,
        survivorship,
        run_id="batch",
        now=NOW,
        scored_pairs=batch.scored_pairs,
        prior_golden=baseline.read_table("mdm.golden_records"),
        prior_xref=baseline.read_table("mdm.xref"),
    )
    assert _partition(store.read_table("mdm.clusters")) == _partition(batch.clusters)
    golden_of = store.read_table("mdm.xref").set_index("record_key")["golden_id"].sort_index()
    expected_of = golden.xref.set_index("record_key")["golden_id"].sort_index()
    assert golden_of.index.equals(expected_of.index)
    persisted = expected_of.isin(ids_before)
    assert (golden_of[persisted] == expected_of[persisted]).all()
    fresh = {frozenset(g.index) for _, g in golden_of[~persisted].groupby(golden_of)}
    expected_fresh = {
        frozenset(g.index) for _, g in expected_of[~persisted].groupby(expected_of[~persisted])
    }
    assert fresh == expected_fresh

    # Every golden event of the writes is in the change feed, and in the served snapshot.
    outbox = store.read_table("mdm.change_outbox")
    assert len(outbox) >= logged > 0
    with DuckDBWarehouse(settings.resolved_serving_path).connect() as served:
        served_outbox = served.execute("select count(*) from mdm.change_outbox").fetchone()
        served_links = served.execute("select count(*) from mdm.xref").fetchone()
    assert served_outbox == (len(outbox),)
    assert served_links == (len(golden_of),)

    # The same content again: nothing written, no event.
    name = next(iter(raw))
    mapping = mappings[name]
    columns = {mapping.key_column, *mapping.mapping.values()} & set(raw[name].columns)
    again = upsert_record(
        settings, mapping, _posted_row(raw[name], int(np.flatnonzero(held[name])[0]), columns)
    )
    assert again.outcome == "unchanged"
    assert again.golden_id == golden_of[again.record_key]
    assert len(store.read_table("mdm.change_outbox")) == len(outbox)


def test_a_record_the_pipeline_would_quarantine_is_refused_naming_the_rule_not_the_value(
    bank: tuple[dict, dict[str, pd.DataFrame]],
) -> None:
    mapping = source_mappings(PROJECT_ROOT / "mdm.yaml")["core"]
    name_column = mapping.mapping["name"]
    id_column = mapping.mapping["id_number"]
    row = {mapping.key_column: "C-online-1", name_column: "", id_column: "  "}
    with pytest.raises(RecordRejected) as rejected:
        standardize_posted(mapping, row, now=NOW)
    assert rejected.value.rule is not None
    assert rejected.value.rule in str(rejected.value)
    with pytest.raises(RecordRejected, match="not a column") as unknown:
        standardize_posted(mapping, {**row, "resident_no": "130102198503070031"}, now=NOW)
    assert "130102198503070031" not in str(unknown.value)
    assert unknown.value.field == "resident_no"


def test_a_write_while_a_run_holds_the_home_is_refused_naming_the_run(
    bank: tuple[dict, dict[str, pd.DataFrame]], tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "var")
    mapping = source_mappings(settings.config_path)["core"]
    _, raw = bank
    columns = {mapping.key_column, *mapping.mapping.values()} & set(raw["core"].columns)
    # A batch run in another process holds the home (the lock is re-entrant per process).
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from connectors import run_lock;"
            f"run_lock.acquire(Path({str(settings.home)!r}), run_id='batch-42', command='mdm run');"
            "print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(run_lock.RunLockBusy) as busy:
            upsert_record(settings, mapping, _posted_row(raw["core"], 0, columns), wait_seconds=0.5)
        assert busy.value.holder is not None and busy.value.holder.run_id == "batch-42"
    finally:
        holder.kill()
        holder.wait()
    assert not (settings.home / "warehouse.duckdb").exists()  # nothing written

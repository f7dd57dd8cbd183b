"""A sequence of incremental runs ends where one full run on the final data ends.

On a simulated bank (1,200 people), a full run builds the warehouse (a real DuckDB file) from
96% of every source's rows. Then three incremental runs, each standardizing, matching and
surviving only the records whose raw rows changed (connectors.incremental,
matching.incremental): the held-out rows arrive (new customers, and new records of known
ones); some mobiles and addresses change; one record takes another person's identity (it
now matches that person). A full run on the final rows, with the same model (an
incremental run does not re-train) and the golden state the first run left, must give the
same scored pairs, clusters and golden IDs.

What is not compared, and why: events and history (three runs log three steps where one
run logs one), and the number a brand-new golden ID gets (both issue fresh IDs past the
highest, in a different order: the test checks the same records share one).

Where the two can differ (none does on this data; each is a deliberate cost saving):
- kept pairs keep the match weight they were scored with; a full run recomputes every pair's
  term-frequency adjustment from the records as they are now;
- a changed record that pushes a block over its `max_block_size` (or under it) does not
  remove (or add) the pairs of the unchanged records in that block;
- a full run re-trains the model; an incremental run scores with the stored one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from benchmarks.bench_incremental import full_run, incremental_run, landed, mapped, standardized
from benchmarks.bench_pipeline import noise_config, read_party_tables, simulated_sources
from connectors.settings import PROJECT_ROOT
from connectors.warehouse import DuckDBWarehouse
from matching import MatchingConfig, link
from matching.golden import SurvivorshipConfig, build_golden_records
from matching.model import FellegiSunterModel

PEOPLE = 1_200
HELD_OUT = 0.04
# Nanosecond times, as the pipeline stamps them (`pd.Timestamp.now().floor("s")`).
NOW = pd.Timestamp("2026-11-30 08:00:00").as_unit("ns")


@dataclass
class Bank:
    document: dict[str, object]
    sources: dict[str, dict[str, object]]
    raw: dict[str, pd.DataFrame]  # every row, as extracted
    matching: MatchingConfig
    survivorship: SurvivorshipConfig


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Bank:
    document = yaml.safe_load((PROJECT_ROOT / "mdm.yaml").read_text(encoding="utf-8"))
    folder: Path = tmp_path_factory.mktemp("incremental_runs")
    simulated_sources(folder, PEOPLE, 11, noise_config(1.0))
    raw = read_party_tables(folder, document["sources"])
    return Bank(
        document,
        document["sources"],
        {name: landed(frame, "b0") for name, frame in raw.items()},
        MatchingConfig.model_validate(document["matching"]),
        SurvivorshipConfig.model_validate(document["survivorship"]),
    )


def _run(bank: Bank, store: DuckDBWarehouse, raw: dict[str, pd.DataFrame], run_id: str) -> int:
    """One incremental run; returns how many records were standardized again."""
    steps = incremental_run(
        store,
        raw,
        bank.sources,
        bank.matching,
        bank.survivorship,
        now=NOW + pd.Timedelta(hours=1),
        run_id=run_id,
    )
    return int(steps["changed_records"])


def _partition(clusters: pd.DataFrame) -> set[frozenset[str]]:
    return {frozenset(group) for _, group in clusters.groupby("cluster_id")["record_key"]}


def test_incremental_runs_end_where_one_full_run_ends(bank: Bank, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    held = {name: rng.random(len(frame)) < HELD_OUT for name, frame in bank.raw.items()}
    first = {name: frame[~held[name]].reset_index(drop=True) for name, frame in bank.raw.items()}
    store = DuckDBWarehouse(tmp_path / "incremental.duckdb")
    full_run(store, first, bank.sources, bank.matching, bank.survivorship, now=NOW)
    model_json = str(store.read_table("mdm.match_model")["model_json"].iloc[0])
    baseline = DuckDBWarehouse(tmp_path / "full.duckdb")
    full_run(baseline, first, bank.sources, bank.matching, bank.survivorship, now=NOW)
    new_ids_before = set(store.read_table("mdm.golden_records")["golden_id"])

    # 1. The held-out rows arrive: new customers, and new records of known ones.
    raw = {name: frame.copy() for name, frame in bank.raw.items()}
    added = _run(bank, store, raw, "inc-1")
    assert added == sum(int(mask.sum()) for mask in held.values())

    # 2. Mobiles and addresses change (a new number; another customer's address).
    changed_rows = 0
    for name, frame in raw.items():
        rows = rng.choice(len(frame), size=15, replace=False)
        mobile, address = (
            mapped(bank.sources, name, "mobile"),
            mapped(bank.sources, name, "address"),
        )
        frame.loc[rows[:8], mobile] = [f"139{n:08d}" for n in rng.integers(0, 10**8, size=8)]
        frame.loc[rows[8:], address] = frame[address].sample(7, random_state=1).to_numpy()
        raw[name] = landed(frame, "b2")
        changed_rows += 15
    assert _run(bank, store, raw, "inc-2") <= changed_rows

    # 3. A credit record now carries a core customer's identity: it matches that person.
    core, credit = raw["core"], raw["credit"]
    donor = core.iloc[int(rng.integers(len(core)))]
    for field in ("name", "id_number", "birth_date", "mobile"):
        credit.loc[3, mapped(bank.sources, "credit", field)] = donor[
            mapped(bank.sources, "core", field)
        ]
    raw["credit"] = landed(credit, "b3")
    assert _run(bank, store, raw, "inc-3") == 1
    donor_key = "core:" + str(donor[str(bank.sources["core"]["key_column"])]).strip()
    moved_key = "credit:" + str(credit.loc[3, str(bank.sources["credit"]["key_column"])]).strip()

    # One full run on the final rows, from the first run's state, with its model.
    records = standardized(raw, bank.sources, NOW)
    full = link(records, bank.matching, model=FellegiSunterModel.from_json(model_json))
    golden = build_golden_records(
        records,
        full.clusters,
        bank.survivorship,
        run_id="full",
        now=NOW,
        scored_pairs=full.scored_pairs,
        prior_golden=baseline.read_table("mdm.golden_records"),
        prior_xref=baseline.read_table("mdm.xref"),
    )

    pair_columns = ["record_key_l", "record_key_r", "zone"]
    incremental_pairs = store.read_table("mdm.scored_pairs")[pair_columns]
    expected_pairs = full.scored_pairs[pair_columns]
    merged = incremental_pairs.merge(
        expected_pairs, on=["record_key_l", "record_key_r"], how="outer", indicator=True
    )
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    assert (merged["zone_x"] == merged["zone_y"]).all(), merged[
        merged["zone_x"] != merged["zone_y"]
    ]

    clusters = store.read_table("mdm.clusters")
    assert _partition(clusters) == _partition(full.clusters)
    golden_of = store.read_table("mdm.xref").set_index("record_key")["golden_id"].sort_index()
    expected_of = golden.xref.set_index("record_key")["golden_id"].sort_index()
    assert golden_of.index.equals(expected_of.index)
    persisted = expected_of.isin(new_ids_before)
    assert (golden_of[persisted] == expected_of[persisted]).all()
    # Fresh IDs: the same records share one, whatever its number.
    fresh_groups = {frozenset(g.index) for _, g in golden_of[~persisted].groupby(golden_of)}
    expected_groups = {
        frozenset(g.index) for _, g in expected_of[~persisted].groupby(expected_of[~persisted])
    }
    assert fresh_groups == expected_groups
    assert golden_of[moved_key] == golden_of[donor_key]

    active = store.read_table("mdm.golden_records")
    active = active[active["status"] == "active"]
    expected_active = golden.golden_records[golden.golden_records["status"] == "active"]
    assert len(active) == len(expected_active)

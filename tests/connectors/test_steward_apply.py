"""`apply_decision`: a steward decision reaches the warehouse and the served snapshot at once.

On a small simulated bank (400 people) run through the Python stages, on DuckDB and on
PostgreSQL: a `same` decision between two golden records is applied without a run, the
warehouse and the serving snapshot show the merge with the decision named in the events and
the xref, and the next full run finds nothing left to do. A run holding the home defers the
apply instead of failing.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa

from connectors.ops_store import Decision, OpsStore, audit_log
from connectors.serving import POINT_PATCH_KEYS, SERVED_TABLES, published_point_store
from connectors.settings import Settings
from connectors.simulated import simulate
from connectors.steward_apply import DecisionNotFoundError, apply_decision
from connectors.warehouse import Warehouse, open_warehouse
from pipelines.build import build_mdm_assets, build_resources
from pipelines.mdm_config import load_config
from tests.conftest import TEST_AS_OF, write_pipeline_config

PEOPLE = 400
STEWARD = "cli:wang.min"


@pytest.fixture(scope="module")
def base_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("apply_sources")
    simulate(folder, people=PEOPLE, seed=11, as_of=TEST_AS_OF)
    return folder


@pytest.fixture(params=["duckdb", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, base_sources: Path) -> Settings:
    sources = tmp_path / "sources"
    shutil.copytree(base_sources, sources)
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_database")
    return Settings(
        home=tmp_path / "var",
        config_path=write_pipeline_config(sources, tmp_path / "mdm.yaml"),
        warehouse_url=url,
    )


def _run(settings: Settings) -> None:
    config = load_config(settings.config_path)
    result = dg.materialize(build_mdm_assets(config), resources=build_resources(settings))
    assert result.success


def _decide_same_across_goldens(settings: Settings) -> tuple[int, str, str]:
    """A `same` on the strongest pair below auto-match whose records are in two golden
    records (a steward's typical question)."""
    store = open_warehouse(settings.resolved_warehouse_url)
    xref = store.read_table("mdm.xref")
    golden_of = xref.set_index("record_key")["golden_id"]
    review = store.query(
        "select record_key_l, record_key_r from mdm.scored_pairs where zone <> 'auto_match'"
        " order by match_weight desc, record_key_l, record_key_r"
    )
    apart = review[
        golden_of.reindex(review["record_key_l"]).to_numpy()
        != golden_of.reindex(review["record_key_r"]).to_numpy()
    ]
    left, right = str(apart.iloc[0]["record_key_l"]), str(apart.iloc[0]["record_key_r"])
    ops = OpsStore(settings.resolved_ops_url)
    try:
        decision_id = ops.record_decision(
            Decision("same", STEWARD, "same person, checked", left, right),
            xref=xref,
            golden=store.read_table("mdm.golden_records"),
            records=store.read_table("mdm.party_records"),
        )
        if ops.decision(decision_id).status == "pending":
            # Risky (two valid IDs joined): a second steward approves it first.
            ops.approve(decision_id, "cli:li.hua", "checked the documents", xref=xref)
    finally:
        ops.dispose()
    return decision_id, left, right


def test_a_same_decision_is_applied_and_served_without_a_run(
    settings: Settings, tmp_path: Path
) -> None:
    _run(settings)
    store = open_warehouse(settings.resolved_warehouse_url)
    store.publish(settings.resolved_serving_path)  # as the run's last step does
    events_before = len(store.read_table("mdm.golden_events"))
    queue_before = store.read_table("mdm.review_queue")
    decision_id, left, right = _decide_same_across_goldens(settings)

    result = apply_decision(settings, decision_id, actor="cli:li.na")

    assert result.outcome == "applied", result.message
    assert result.snapshot == "patched"
    assert result.records >= 2
    kinds = {change.event_type for change in result.changes}
    assert kinds & {"merge", "split", "update"}
    assert "refresh on the next run" in result.message
    xref = store.read_table("mdm.xref").set_index("record_key")
    assert xref.loc[left, "golden_id"] == xref.loc[right, "golden_id"]
    assert xref.loc[left, "match_rule"] == f"steward:{decision_id}"
    assert xref.loc[right, "match_rule"] == f"steward:{decision_id}"
    assert pd.isna(xref.loc[left, "match_weight"])
    # Each record is in one cluster and one golden record still.
    assert xref.index.is_unique
    assert store.read_table("mdm.clusters")["record_key"].is_unique
    events = store.read_table("mdm.golden_events")
    applied = events[events["run_id"] == result.run_id]
    assert len(events) == events_before + len(applied) > events_before
    assert set(applied["decision_id"]) == {decision_id}
    assert set(applied["steward"]) == {STEWARD}
    golden = store.read_table("mdm.golden_records").set_index("golden_id")
    survivor = xref.loc[left, "golden_id"]
    assert golden.loc[survivor, "status"] == "active"
    assert golden.index.is_unique

    # The published snapshot shows it.
    with duckdb.connect(str(settings.resolved_serving_path), read_only=True) as served:
        rows = served.execute(
            "select record_key, golden_id, match_rule from mdm.xref where record_key in (?, ?)",
            [left, right],
        ).fetchall()
        served_events = served.execute(
            "select count(*) from mdm.golden_events where decision_id = ?", [decision_id]
        ).fetchone()
    assert {row[1] for row in rows} == {survivor}
    assert {row[2] for row in rows} == {f"steward:{decision_id}"}
    assert served_events is not None and served_events[0] == len(applied)

    # The auditors see who applied it, when and what changed, without personal data.
    ops = OpsStore(settings.resolved_ops_url)
    try:
        with ops.engine.connect() as connection:
            audited = connection.execute(
                sa.select(audit_log.c.actor, audit_log.c.target, audit_log.c.detail).where(
                    audit_log.c.action == "decision.applied"
                )
            ).all()
    finally:
        ops.dispose()
    assert [(row.actor, row.target) for row in audited] == [
        ("cli:li.na", f"decision:{decision_id}")
    ]
    assert result.run_id is not None and result.run_id in audited[0].detail

    # The patched snapshot holds what a full publish of the warehouse would.
    _assert_same_as_full_publish(settings, tmp_path)

    # The answered pair left the steward's queue at once.
    queue = store.read_table("mdm.review_queue")
    pairs = set(zip(queue["record_key_l"], queue["record_key_r"], strict=True))
    assert (left, right) not in pairs and (right, left) not in pairs
    assert set(queue["run_id"]) <= {result.run_id, *queue_before["run_id"]}

    # The next full run rebuilds the same rows: no event, the same links, the same queue.
    xref_after_apply = store.read_table("mdm.xref").sort_values("record_key", ignore_index=True)
    review_after_apply = _review_tables(store)
    _run(settings)
    rerun_events = store.read_table("mdm.golden_events")
    assert len(rerun_events) == len(events)
    pd.testing.assert_frame_equal(
        store.read_table("mdm.xref").sort_values("record_key", ignore_index=True),
        xref_after_apply,
        check_dtype=False,
    )
    for table, rows in _review_tables(store).items():
        pd.testing.assert_frame_equal(rows, review_after_apply[table], check_dtype=False, obj=table)


def _review_tables(store: Warehouse) -> dict[str, pd.DataFrame]:
    """The review queue and questions in a stable order, without the run that wrote them."""
    tables = {}
    for table, key in (
        ("mdm.review_queue", ["item_type", "record_key_l", "record_key_r"]),
        ("mdm.review_questions", ["question_id"]),
    ):
        rows = store.read_table(table).drop(columns=["run_id"])
        tables[table] = rows.sort_values(key, ignore_index=True)[sorted(rows.columns)]
    return tables


def _assert_same_as_full_publish(settings: Settings, tmp_path: Path) -> None:
    """Every served table and point-store table of the patched snapshot equals a full
    publish's, row for row."""
    patched = settings.resolved_serving_path
    full = open_warehouse(settings.resolved_warehouse_url).publish(tmp_path / "full.duckdb")
    with duckdb.connect() as both:
        both.execute(f"attach '{patched}' as patched (read_only)")
        both.execute(f"attach '{full}' as full_publish (read_only)")
        for table in SERVED_TABLES:
            # The marts (dbt's) and the quality tables (the checks' and the publish asset's) are
            # left as published by a patch, refreshed by the next run's publish.
            if table.split(".")[0] in ("marts", "dq"):
                continue
            for left, right in (("patched", "full_publish"), ("full_publish", "patched")):
                difference = both.execute(
                    f"select count(*) from (select * from {left}.{table}"
                    f" except all select * from {right}.{table})"
                ).fetchone()
                assert difference == (0,), f"{table}: rows only in {left}"
    patched_points, full_points = published_point_store(patched), published_point_store(full)
    assert patched_points is not None and full_points is not None
    assert patched_points != full_points
    with closing(sqlite3.connect(patched_points)) as points:
        points.execute("attach database ? as full_publish", [str(full_points)])
        for table in POINT_PATCH_KEYS:
            for left, right in (("main", "full_publish"), ("full_publish", "main")):
                difference = points.execute(
                    f"select count(*) from (select * from {left}.{table}"
                    f" except select * from {right}.{table})"
                ).fetchone()
                assert difference == (0,), f"point store {table}: rows only in {left}"
            sizes = points.execute(
                f"select (select count(*) from main.{table}),"
                f" (select count(*) from full_publish.{table})"
            ).fetchone()
            assert sizes is not None and sizes[0] == sizes[1]


@contextmanager
def _lock_held(home: Path, seconds: float) -> Iterator[Path]:
    """The home's run lock held by another process for `seconds`, as a full run holds it."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from connectors import run_lock; "
            "run_lock.acquire(Path(sys.argv[1]), run_id='full-run', command='mdm run'); "
            "print('held', flush=True); time.sleep(float(sys.argv[2]))",
            str(home),
            str(seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield home
    finally:
        holder.kill()
        holder.wait()


@pytest.fixture
def held_home(tmp_path: Path) -> Iterator[Path]:
    with _lock_held(tmp_path / "var", 60) as home:
        yield home


def test_a_run_in_progress_defers_the_apply(held_home: Path, tmp_path: Path) -> None:
    settings = Settings(home=held_home, config_path=tmp_path / "unused.yaml")
    ops = OpsStore(settings.resolved_ops_url)
    try:
        # Recorded without a warehouse: the apply must stop at the lock before reading it.
        decision_id = ops.record_decision(
            Decision("different", STEWARD, "two people", "core:C1", "crm:C2")
        )
    finally:
        ops.dispose()

    result = apply_decision(settings, decision_id, wait_seconds=0.5)

    assert result.outcome == "deferred"
    assert "a run is in progress" in result.message
    assert "full-run" in result.message
    assert not (held_home / "warehouse.duckdb").exists()


def test_an_unknown_decision_is_refused(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "var", config_path=tmp_path / "unused.yaml")
    with pytest.raises(DecisionNotFoundError, match="#999"):
        apply_decision(settings, 999)


def test_an_apply_told_to_wait_goes_ahead_when_the_holder_ends(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "var", config_path=tmp_path / "unused.yaml")
    ops = OpsStore(settings.resolved_ops_url)
    try:
        decision_id = ops.record_decision(
            Decision("different", STEWARD, "two people", "core:C1", "crm:C2")
        )
    finally:
        ops.dispose()
    with _lock_held(settings.home, 1.0):
        result = apply_decision(settings, decision_id, wait_seconds=30)
    # Past the lock: it stops at the warehouse no run has built, and says so.
    assert result.outcome == "not_applicable"
    assert "no run has built" in result.message

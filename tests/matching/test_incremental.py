"""A decision applied to the clusters it touches gives the full run's rows for them.

On a simulated bank (1,500 people, about 2,600 records), each kind of decision (same,
different, split, merge) is applied twice: by a full re-cluster of every record plus
survivorship over everything (what `mdm run` does), and by `apply_to_region` on only the
records `touched_region` selects. The region's clusters, scored-pair zones, golden records,
xref, lineage, history and events must be equal, and nothing outside the region may change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from benchmarks.bench_pipeline import (
    noise_config,
    read_party_tables,
    simulated_sources,
    standardize_all,
)
from connectors.settings import PROJECT_ROOT
from matching import MatchingConfig, link
from matching.golden import (
    GoldenResult,
    SurvivorshipConfig,
    build_golden_records,
    next_golden_number,
    update_history,
)
from matching.incremental import (
    applied_decision_ids,
    apply_to_region,
    credit_events,
    decision_placements,
    lookalike_spellings,
    named_records,
    pending_decisions,
    touched_region,
)
from matching.stewardship import constraints_from_decisions

RUN_NOW = pd.Timestamp("2026-11-29 08:00:00")
APPLY_NOW = pd.Timestamp("2026-11-29 09:30:00")
STEWARD = "cli:wang.min"


@dataclass
class Baseline:
    records: pd.DataFrame
    matching: MatchingConfig
    survivorship: SurvivorshipConfig
    scored: pd.DataFrame
    clusters: pd.DataFrame
    golden: GoldenResult
    history: pd.DataFrame


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    document = yaml.safe_load((PROJECT_ROOT / "mdm.yaml").read_text(encoding="utf-8"))
    folder: Path = tmp_path_factory.mktemp("incremental")
    manifest, _ = simulated_sources(folder, 1_500, 7, noise_config(1.0))
    raw = read_party_tables(folder, document["sources"])
    now = pd.Timestamp(manifest["as_of"]) + pd.Timedelta(days=1)
    records, _ = standardize_all(raw, document["sources"], now, 1)
    matching = MatchingConfig.model_validate(document["matching"])
    survivorship = SurvivorshipConfig.model_validate(document["survivorship"])
    linked = link(records, matching)
    golden = build_golden_records(
        records,
        linked.clusters,
        survivorship,
        run_id="run-0",
        now=RUN_NOW,
        scored_pairs=linked.scored_pairs,
    )
    history = update_history(None, golden.golden_records, now=RUN_NOW, run_id="run-0")
    return Baseline(
        records, matching, survivorship, linked.scored_pairs, linked.clusters, golden, history
    )


def _decision(decision_type: str, **fields: str) -> pd.DataFrame:
    row = {
        "decision_id": 7,
        "decision_type": decision_type,
        "record_key_l": None,
        "record_key_r": None,
        "golden_id": None,
        "related_golden_id": None,
        "steward": STEWARD,
        "status": "active",
        **fields,
    }
    return pd.DataFrame([row])


def _golden_of(baseline: Baseline) -> pd.Series:
    return baseline.golden.xref.set_index("record_key")["golden_id"]


def _review_pair_across_goldens(baseline: Baseline) -> tuple[str, str]:
    golden_of = _golden_of(baseline)
    review = baseline.scored[baseline.scored["zone"] == "review"]
    apart = (
        golden_of.reindex(review["record_key_l"]).to_numpy()
        != golden_of.reindex(review["record_key_r"]).to_numpy()
    )
    first = review[apart].sort_values(["record_key_l", "record_key_r"]).iloc[0]
    return str(first["record_key_l"]), str(first["record_key_r"])


def _largest_cluster(baseline: Baseline) -> pd.DataFrame:
    clusters = baseline.clusters
    biggest = clusters.sort_values(["cluster_size", "cluster_id"], ascending=[False, True])
    return clusters[clusters["cluster_id"] == biggest.iloc[0]["cluster_id"]]


def _scenario(baseline: Baseline, kind: str) -> pd.DataFrame:
    golden_of = _golden_of(baseline)
    if kind == "same":
        left, right = _review_pair_across_goldens(baseline)
        return _decision("same", record_key_l=left, record_key_r=right)
    if kind == "merge":
        left, right = _review_pair_across_goldens(baseline)
        survivor, merged = str(golden_of[left]), str(golden_of[right])
        members = baseline.golden.xref.groupby("golden_id")["record_key"].min()
        return _decision(
            "merge",
            golden_id=survivor,
            related_golden_id=merged,
            record_key_l=str(members[survivor]),
            record_key_r=str(members[merged]),
        )
    members = _largest_cluster(baseline)["record_key"].tolist()
    if kind == "different":
        auto = baseline.scored[
            (baseline.scored["zone"] == "auto_match")
            & baseline.scored["record_key_l"].isin(members)
            & baseline.scored["record_key_r"].isin(members)
        ].iloc[0]
        left, right = str(auto["record_key_l"]), str(auto["record_key_r"])
        return _decision("different", record_key_l=left, record_key_r=right)
    record = members[-1]
    return _decision("split", record_key_l=record, golden_id=str(golden_of[record]))


def _full_run(
    baseline: Baseline,
    decisions: pd.DataFrame,
    *,
    prior_golden: pd.DataFrame | None = None,
    prior_xref: pd.DataFrame | None = None,
    prior_events: pd.DataFrame | None = None,
    run_id: str = "run-1",
    now: pd.Timestamp = APPLY_NOW,
) -> tuple[pd.DataFrame, pd.DataFrame, GoldenResult]:
    """What `mdm run` does with the decisions, from the baseline's state or the one given."""
    golden = baseline.golden.golden_records if prior_golden is None else prior_golden
    xref = baseline.golden.xref if prior_xref is None else prior_xref
    events = baseline.golden.events if prior_events is None else prior_events
    constraints = constraints_from_decisions(decisions, xref, golden)
    linked = link(
        baseline.records,
        baseline.matching,
        must_link=constraints.must_link,
        cannot_link=constraints.cannot_link,
    )
    result = build_golden_records(
        baseline.records,
        linked.clusters,
        baseline.survivorship,
        run_id=run_id,
        now=now,
        scored_pairs=linked.scored_pairs,
        prior_golden=golden,
        prior_xref=xref,
        preferred_golden_ids=constraints.preferred_golden_ids,
        placements=decision_placements(decisions, linked.clusters),
    )
    pending = pending_decisions(decisions, events, xref)
    result.events = credit_events(result.events, pending, xref=result.xref, prior_xref=xref)
    return linked.scored_pairs, linked.clusters, result


@dataclass
class State:
    """The warehouse's matching tables at some moment."""

    scored: pd.DataFrame
    golden_records: pd.DataFrame
    xref: pd.DataFrame
    history: pd.DataFrame
    events: pd.DataFrame


def _baseline_state(baseline: Baseline) -> State:
    golden = baseline.golden
    return State(
        baseline.scored, golden.golden_records, golden.xref, baseline.history, golden.events
    )


def _quick_apply(  # type: ignore[no-untyped-def]
    baseline: Baseline, decisions: pd.DataFrame, state: State | None = None
):
    """apply_to_region on the state's rows of the region the decision touches."""
    state = state or _baseline_state(baseline)
    constraints = constraints_from_decisions(decisions, state.xref, state.golden_records)
    keys, goldens = named_records(decisions.iloc[0].to_dict())
    region = touched_region(
        keys, goldens, scored=state.scored, must_link=constraints.must_link, xref=state.xref
    )
    xref = state.xref[state.xref["record_key"].isin(region)]
    ids = set(xref["golden_id"])
    return apply_to_region(
        baseline.records[baseline.records["record_key"].isin(region)],
        state.scored[
            state.scored["record_key_l"].isin(region) & state.scored["record_key_r"].isin(region)
        ],
        constraints,
        matching=baseline.matching,
        survivorship=baseline.survivorship,
        lookalike=lookalike_spellings(baseline.records, state.scored, baseline.matching),
        prior_golden=state.golden_records[state.golden_records["golden_id"].isin(ids)],
        prior_xref=xref,
        prior_history=state.history[state.history["golden_id"].isin(ids)],
        next_number=next_golden_number(state.golden_records, state.xref),
        decisions=decisions,
        credited=decisions,
        run_id="apply-7",
        now=APPLY_NOW,
    )


def _patched_state(state: State, quick) -> State:  # type: ignore[no-untyped-def]
    """The state after a quick apply wrote its region's rows."""
    region = quick.record_keys
    ids = set(quick.prior_golden_ids) | set(quick.golden.golden_records["golden_id"])
    inside = state.scored["record_key_l"].isin(region) & state.scored["record_key_r"].isin(region)
    return State(
        pd.concat([state.scored[~inside], quick.scored_pairs], ignore_index=True),
        _patched(state.golden_records, quick.golden.golden_records, "golden_id", ids),
        _patched(state.xref, quick.golden.xref, "record_key", region),
        _patched(state.history, quick.history, "golden_id", ids),
        pd.concat([state.events, quick.golden.events], ignore_index=True),
    )


def _rows(frame: pd.DataFrame, column: str, values: object, order: list[str]) -> pd.DataFrame:
    chosen = frame[frame[column].isin(list(values))]  # type: ignore[call-overload]
    return chosen.sort_values(order).reset_index(drop=True)


EVENT_FIELDS = [
    "event_type",
    "golden_id",
    "related_golden_id",
    "detail",
    "decision_id",
    "steward",
    "changed_fields",
]


@pytest.mark.parametrize("kind", ["same", "different", "split", "merge"])
def test_a_decision_applied_to_its_region_gives_the_full_runs_rows(
    baseline: Baseline, kind: str
) -> None:
    decisions = _scenario(baseline, kind)
    full_scored, full_clusters, full = _full_run(baseline, decisions)
    quick = _quick_apply(baseline, decisions)
    region = quick.record_keys

    # Something happened: every kind of decision changes its golden records.
    assert len(quick.golden.events) >= 1
    assert set(quick.golden.events["decision_id"]) == {7}
    assert set(quick.golden.events["steward"]) == {STEWARD}

    pd.testing.assert_frame_equal(
        _rows(full_clusters, "record_key", region, ["record_key"]),
        quick.clusters.reset_index(drop=True),
        check_dtype=False,
    )
    # Outside the region the full run changed no record's golden ID.
    outside = ~baseline.golden.xref["record_key"].isin(region)
    before = baseline.golden.xref[outside].set_index("record_key")["golden_id"]
    after = full.xref.set_index("record_key")["golden_id"].reindex(before.index)
    assert (before == after).all()

    pair_order = ["record_key_l", "record_key_r"]
    full_pairs = full_scored[
        full_scored["record_key_l"].isin(region) & full_scored["record_key_r"].isin(region)
    ]
    pd.testing.assert_frame_equal(
        full_pairs.sort_values(pair_order).reset_index(drop=True),
        quick.scored_pairs.sort_values(pair_order).reset_index(drop=True),
        check_dtype=False,
    )

    ids = set(quick.golden.golden_records["golden_id"])
    pd.testing.assert_frame_equal(
        _rows(full.golden_records, "golden_id", ids, ["golden_id"]),
        quick.golden.golden_records.sort_values("golden_id").reset_index(drop=True),
        check_dtype=False,
    )
    pd.testing.assert_frame_equal(
        _rows(full.xref, "record_key", region, ["record_key"]),
        quick.golden.xref.reset_index(drop=True),
        check_dtype=False,
    )
    lineage_order = ["golden_id", "attribute"]
    pd.testing.assert_frame_equal(
        _rows(full.lineage, "golden_id", ids, lineage_order),
        quick.golden.lineage.sort_values(lineage_order).reset_index(drop=True),
        check_dtype=False,
    )
    full_history = update_history(
        baseline.history, full.golden_records, now=APPLY_NOW, run_id="apply-7"
    )
    history_order = ["golden_id", "valid_from"]
    pd.testing.assert_frame_equal(
        _rows(full_history, "golden_id", ids, history_order),
        quick.history.sort_values(history_order).reset_index(drop=True),
        check_dtype=False,
    )
    # Every event of the full run is the quick apply's, and is credited to the decision.
    event_order = ["event_type", "golden_id"]
    pd.testing.assert_frame_equal(
        full.events[EVENT_FIELDS].sort_values(event_order).reset_index(drop=True),
        quick.golden.events[EVENT_FIELDS].sort_values(event_order).reset_index(drop=True),
        check_dtype=False,
    )


def _patched(full: pd.DataFrame, region: pd.DataFrame, column: str, drop: object) -> pd.DataFrame:
    kept = full[~full[column].isin(list(drop))]  # type: ignore[call-overload]
    return pd.concat([kept, region], ignore_index=True)


@pytest.mark.parametrize("kind", ["same", "split"])
def test_a_full_run_after_a_quick_apply_changes_nothing(baseline: Baseline, kind: str) -> None:
    """The warehouse patched by the quick apply is what the next full run rebuilds: no event,
    the same xref (the decision still named in its match_rule) and the same golden records."""
    decisions = _scenario(baseline, kind)
    quick = _quick_apply(baseline, decisions)
    patched = _patched_state(_baseline_state(baseline), quick)
    patched_xref, patched_golden = patched.xref, patched.golden_records
    applied = applied_decision_ids(quick.golden.events, patched_xref)
    assert applied == {7}

    _, _, rerun = _full_run(
        baseline,
        decisions,
        prior_golden=patched_golden,
        prior_xref=patched_xref,
        prior_events=patched.events,
        run_id="run-2",
        now=APPLY_NOW + pd.Timedelta(hours=1),
    )
    assert rerun.events.empty
    pd.testing.assert_frame_equal(
        rerun.xref,
        patched_xref.sort_values("record_key").reset_index(drop=True),
        check_dtype=False,
    )
    pd.testing.assert_frame_equal(
        rerun.golden_records,
        patched_golden.sort_values("golden_id").reset_index(drop=True),
        check_dtype=False,
    )


@pytest.mark.parametrize("kind", ["same", "split"])
def test_a_revoked_decision_applied_to_its_region_gives_the_full_runs_rows(
    baseline: Baseline, kind: str
) -> None:
    """Revoking undoes a decision through the same path: the region re-clustered without its
    constraint equals a full run without it, from the state the decision left."""
    decisions = _scenario(baseline, kind)
    applied = _patched_state(_baseline_state(baseline), _quick_apply(baseline, decisions))
    revoked = decisions.assign(status="revoked")

    undone = _quick_apply(baseline, revoked, applied)
    _, full_clusters, full = _full_run(
        baseline,
        revoked,
        prior_golden=applied.golden_records,
        prior_xref=applied.xref,
        prior_events=applied.events,
        run_id="run-2",
    )

    region = undone.record_keys
    pd.testing.assert_frame_equal(
        _rows(full_clusters, "record_key", region, ["record_key"]),
        undone.clusters.reset_index(drop=True),
        check_dtype=False,
    )
    # The decision no longer places any record.
    assert not undone.golden.xref["match_rule"].str.startswith("steward:").any()
    pd.testing.assert_frame_equal(
        _rows(full.xref, "record_key", region, ["record_key"]),
        undone.golden.xref.reset_index(drop=True),
        check_dtype=False,
    )
    ids = set(undone.golden.golden_records["golden_id"])
    pd.testing.assert_frame_equal(
        _rows(full.golden_records, "golden_id", ids, ["golden_id"]),
        undone.golden.golden_records.sort_values("golden_id").reset_index(drop=True),
        check_dtype=False,
    )
    event_order = ["event_type", "golden_id"]
    assert len(undone.golden.events) >= 1
    assert set(undone.golden.events["decision_id"]) == {7}
    pd.testing.assert_frame_equal(
        full.events[["event_type", "golden_id", "related_golden_id", "changed_fields"]]
        .sort_values(event_order)
        .reset_index(drop=True),
        undone.golden.events[["event_type", "golden_id", "related_golden_id", "changed_fields"]]
        .sort_values(event_order)
        .reset_index(drop=True),
        check_dtype=False,
    )

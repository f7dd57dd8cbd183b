"""Golden records in detail: deciding rules, source summaries, event order and history."""

from __future__ import annotations

import pandas as pd

from matching.golden import SurvivorshipConfig, build_golden_records, update_history
from tests.matching.test_golden import LATER, NOW, clusters_of, party


def test_lineage_names_the_rule_that_separated_winner_from_runner_up():
    records = pd.DataFrame(
        [
            party("core:1", name="李娜", mobile="13800000001"),
            party("credit:2", name="李娜", mobile="13800000002"),
            party("crm:3", name="李雪", mobile="13800000002"),
            party("crm:4", email="a@example.com"),
            party("crm:5", email="a@example.com"),
        ]
    )
    config = SurvivorshipConfig(attribute_rules={"mobile": ["most_frequent", "source_priority"]})
    result = build_golden_records(
        records,
        clusters_of([["core:1", "credit:2", "crm:3"], ["crm:4", "crm:5"]]),
        config,
        run_id="r1",
        now=NOW,
    )
    golden = result.golden_records.set_index("golden_id")
    lineage = result.lineage.set_index(["golden_id", "attribute"])
    # Two records share the mobile; the more trusted of them gives it.
    assert golden.loc["G0000000001", "mobile"] == "13800000002"
    assert lineage.loc[("G0000000001", "mobile"), "record_key"] == "credit:2"
    assert lineage.loc[("G0000000001", "mobile"), "rule"] == "source_priority"
    assert lineage.loc[("G0000000001", "name"), "rule"] == "source_priority"
    # Identical records: only the record key can choose; a lone value needs no choosing.
    assert lineage.loc[("G0000000002", "email"), "record_key"] == "crm:4"
    assert lineage.loc[("G0000000002", "email"), "rule"] == "record_key_tie_break"
    assert ("G0000000001", "email") not in lineage.index
    assert list(result.lineage["golden_id"]) == sorted(result.lineage["golden_id"])


def test_single_candidate_and_source_summary():
    records = pd.DataFrame(
        [
            party("crm:1", name="周杰"),
            party("core:2"),
            party("core:3"),
            party("credit:4", name="王芳"),
        ]
    )
    result = build_golden_records(
        records,
        clusters_of([["crm:1", "core:2", "core:3"], ["credit:4"]]),
        SurvivorshipConfig(),
        run_id="r1",
        now=NOW,
    )
    golden = result.golden_records.set_index("golden_id")
    assert golden.loc["G0000000001", "source_systems"] == "core,crm"
    assert golden.loc["G0000000001", "source_count"] == 3
    assert golden.loc["G0000000002", "source_systems"] == "credit"
    lineage = result.lineage.set_index(["golden_id", "attribute"])
    assert lineage.loc[("G0000000001", "name"), "rule"] == "only_candidate"
    assert pd.isna(golden.loc["G0000000001", "email"])


def test_events_are_numbered_merges_new_ids_updates_then_retirements():
    records = pd.DataFrame(
        [
            party("core:1", name="张伟"),
            party("crm:2", name="张伟"),
            party("credit:3", name="王芳"),
            party("core:4", name="赵敏"),
            party("core:5", name="钱进"),
        ]
    )
    first = build_golden_records(
        records,
        clusters_of([["core:1"], ["crm:2"], ["credit:3"], ["core:4"], ["core:5"]]),
        SurvivorshipConfig(),
        run_id="r1",
        now=NOW,
    )
    assert list(first.events["event_id"]) == [f"r1:{i:07d}" for i in range(5)]
    changed = records[records["record_key"] != "core:5"].copy()
    changed.loc[changed["record_key"] == "credit:3", "name"] = "王芳芳"
    changed.loc[len(changed)] = party("crm:6", name="孙丽")
    second = build_golden_records(
        changed,
        clusters_of([["core:1", "crm:2"], ["credit:3"], ["core:4"], ["crm:6"]]),
        SurvivorshipConfig(),
        run_id="r2",
        now=LATER,
        prior_golden=first.golden_records,
        prior_xref=first.xref,
    )
    events = second.events
    assert list(events["event_type"]) == ["merge", "create", "update", "update", "retire"]
    # First run's IDs follow cluster_id order: core:1, core:4, core:5, credit:3, crm:2.
    assert list(events["golden_id"]) == [
        "G0000000001",
        "G0000000006",
        "G0000000001",
        "G0000000004",
        "G0000000003",
    ]
    assert events.loc[0, "detail"] == "G0000000005 merged into G0000000001"
    assert events["related_golden_id"].tolist()[1:] == [None] * 4
    assert list(events["event_id"]) == [f"r2:{i:07d}" for i in range(5)]
    golden = second.golden_records.set_index("golden_id")
    assert golden.loc["G0000000005", "survivor_id"] == "G0000000001"
    assert golden.loc["G0000000003", "status"] == "retired"
    assert pd.isna(golden.loc["G0000000003", "survivor_id"])
    assert second.event_counts == {"merge": 1, "create": 1, "update": 2, "retire": 1}


def test_history_opens_a_version_only_for_changed_records():
    records = pd.DataFrame([party("core:1", name="张伟"), party("credit:2", name="王芳")])
    clusters = clusters_of([["core:1"], ["credit:2"]])
    first = build_golden_records(records, clusters, SurvivorshipConfig(), run_id="r1", now=NOW)
    history = update_history(None, first.golden_records, now=NOW, run_id="r1")
    assert history["valid_to"].isna().all()

    records.loc[records["record_key"] == "credit:2", "name"] = "王芳芳"
    second = build_golden_records(
        records,
        clusters,
        SurvivorshipConfig(),
        run_id="r2",
        now=LATER,
        prior_golden=first.golden_records,
        prior_xref=first.xref,
    )
    history = update_history(history, second.golden_records, now=LATER, run_id="r2")
    assert list(history["golden_id"]) == ["G0000000001", "G0000000002", "G0000000002"]
    assert list(history["name"]) == ["张伟", "王芳", "王芳芳"]
    assert history["valid_to"].tolist()[:2] == [pd.NaT, LATER]
    assert pd.isna(history["valid_to"].iloc[2])
    assert list(history["run_id"]) == ["r1", "r1", "r2"]
    rerun = update_history(history, second.golden_records, now=LATER, run_id="r3")
    pd.testing.assert_frame_equal(rerun, history)


def test_pairs_with_no_auto_match_link_every_record_as_a_singleton():
    records = pd.DataFrame([party("core:1", name="李娜"), party("crm:2", name="李娜")])
    review_only = pd.DataFrame(
        {
            "record_key_l": ["core:1"],
            "record_key_r": ["crm:2"],
            "zone": ["review"],
            "deterministic_rule": [None],
            "match_weight": [1.5],
        }
    )
    result = build_golden_records(
        records,
        clusters_of([["core:1"], ["crm:2"]]),
        SurvivorshipConfig(),
        run_id="r1",
        now=NOW,
        scored_pairs=review_only,
    )
    assert result.xref["match_rule"].tolist() == ["singleton", "singleton"]
    assert result.xref["match_weight"].isna().all()

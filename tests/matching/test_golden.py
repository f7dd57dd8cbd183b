"""Golden records across successive runs: survivorship, lineage and persistent IDs."""

from __future__ import annotations

import pandas as pd
import pytest

from matching.golden import SurvivorshipConfig, build_golden_records

NOW = pd.Timestamp("2026-11-28 02:00:00")
LATER = pd.Timestamp("2026-11-29 02:00:00")


def party(key: str, **values: object) -> dict[str, object]:
    system, _, record_id = key.partition(":")
    row: dict[str, object] = {
        "record_key": key,
        "source_system": system,
        "source_record_id": record_id,
        "source_updated_at": pd.Timestamp("2026-01-01"),
        "source_trust": {"core": 1, "credit": 2, "crm": 3}[system],
        "name": None,
        "name_pinyin": None,
        "id_type": "resident_id",
        "id_number": None,
        "id_valid": False,
        "birth_date": None,
        "gender": None,
        "mobile": None,
        "email": None,
        "address": None,
        "province": None,
        "city": None,
        "district": None,
        "adcode": None,
    }
    row.update(values)
    return row


@pytest.fixture
def records() -> pd.DataFrame:
    return pd.DataFrame(
        [
            # core is most trusted but its ID fails validation: the valid crm ID must win.
            party(
                "core:1",
                name="张伟",
                id_number="130102198503071234",
                id_valid=False,
                mobile="13800138000",
                address="河北省石家庄市长安区中山路1号",
                province="河北省",
                city="石家庄市",
                district="长安区",
                adcode="130102",
            ),
            party(
                "crm:9",
                name="张玮",
                id_number="130102198503071235",
                id_valid=True,
                mobile="13900139000",
                address=None,
                source_updated_at=pd.Timestamp("2026-06-01"),
            ),
            party("credit:5", name="王芳", id_number="130104199001011111", id_valid=True),
        ]
    )


def clusters_of(groups: list[list[str]]) -> pd.DataFrame:
    rows = []
    for members in groups:
        for key in members:
            rows.append(
                {"record_key": key, "cluster_id": min(members), "cluster_size": len(members)}
            )
    return pd.DataFrame(rows)


def test_valid_value_beats_more_trusted_invalid_one_and_lineage_names_the_rule(records):
    result = build_golden_records(
        records,
        clusters_of([["core:1", "crm:9"], ["credit:5"]]),
        SurvivorshipConfig(),
        run_id="r1",
        now=NOW,
    )
    golden = result.golden_records.set_index("golden_id")
    assert list(golden.index) == ["G0000000001", "G0000000002"]
    zhang = golden.loc["G0000000001"]
    assert zhang["id_number"] == "130102198503071235"
    assert zhang["name"] == "张伟"  # both names valid: source priority picks core's
    assert zhang["source_systems"] == "core,crm"
    lineage = result.lineage.set_index(["golden_id", "attribute"])
    assert lineage.loc[("G0000000001", "id_number"), "rule"] == "valid_over_invalid"
    assert lineage.loc[("G0000000001", "name"), "rule"] == "source_priority"
    # The address group survives together from the only record that has an address.
    assert lineage.loc[("G0000000001", "adcode"), "record_key"] == "core:1"
    assert result.event_counts == {"create": 2}


def test_rerun_on_same_input_keeps_ids_and_logs_no_events(records):
    clusters = clusters_of([["core:1", "crm:9"], ["credit:5"]])
    first = build_golden_records(records, clusters, SurvivorshipConfig(), run_id="r1", now=NOW)
    second = build_golden_records(
        records,
        clusters,
        SurvivorshipConfig(),
        run_id="r2",
        now=LATER,
        prior_golden=first.golden_records,
        prior_xref=first.xref,
    )
    assert second.events.empty
    pd.testing.assert_frame_equal(first.golden_records, second.golden_records)
    pd.testing.assert_frame_equal(first.xref, second.xref)


def test_merge_retires_the_smaller_id_with_a_pointer_to_the_survivor(records):
    first = build_golden_records(
        records,
        clusters_of([["core:1", "crm:9"], ["credit:5"]]),
        SurvivorshipConfig(),
        run_id="r1",
        now=NOW,
    )
    merged = build_golden_records(
        records,
        clusters_of([["core:1", "crm:9", "credit:5"]]),
        SurvivorshipConfig(),
        run_id="r2",
        now=LATER,
        prior_golden=first.golden_records,
        prior_xref=first.xref,
    )
    golden = merged.golden_records.set_index("golden_id")
    assert golden.loc["G0000000001", "status"] == "active"
    assert golden.loc["G0000000002", "status"] == "retired"
    assert golden.loc["G0000000002", "survivor_id"] == "G0000000001"
    assert merged.event_counts == {"merge": 1, "update": 1}


def test_split_issues_a_new_id_never_reusing_a_retired_one(records):
    first = build_golden_records(
        records,
        clusters_of([["core:1", "crm:9", "credit:5"]]),
        SurvivorshipConfig(),
        run_id="r1",
        now=NOW,
    )
    split = build_golden_records(
        records,
        clusters_of([["core:1", "crm:9"], ["credit:5"]]),
        SurvivorshipConfig(),
        run_id="r2",
        now=LATER,
        prior_golden=first.golden_records,
        prior_xref=first.xref,
    )
    ids = split.xref.set_index("record_key")["golden_id"]
    assert ids["core:1"] == "G0000000001"
    assert ids["credit:5"] == "G0000000002"
    events = split.events.set_index("event_type")
    assert events.loc["split", "related_golden_id"] == "G0000000001"


def test_record_columns_are_all_survivorship_reads(records):
    """A warehouse read of just `record_columns` gives the same golden records, lineage and
    xref as the whole party table; a column survivorship needs is in the list."""
    from matching.golden import record_columns

    config = SurvivorshipConfig(attribute_rules={"mobile": ["most_frequent", "most_recent"]})
    wide = records.assign(note="a column survivorship never reads", mobile_valid=True)
    clusters = clusters_of([["core:1", "crm:9"], ["credit:5"]])
    wanted = [c for c in record_columns(config) if c in wide.columns]
    assert "note" not in wanted and {"source_trust", "id_valid", "adcode"} <= set(wanted)
    full = build_golden_records(wide, clusters, config, run_id="r1", now=NOW)
    narrow = build_golden_records(wide[wanted], clusters, config, run_id="r1", now=NOW)
    for name in ("golden_records", "lineage", "xref", "events"):
        pd.testing.assert_frame_equal(getattr(full, name), getattr(narrow, name))

"""A decision applied without a run is what the running API serves next (issue 15).

The pipeline's Python stages run and publish; the API serves that snapshot over real HTTP; a
steward splits a record out of its golden record and the decision is applied at once. The same
running server then answers with the record under a new golden ID placed by the decision, and
a split event naming the decision and the steward.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from connectors.ops_store import Decision, OpsStore
from connectors.settings import Settings
from connectors.steward_apply import apply_decision
from connectors.warehouse import open_warehouse
from pipelines.mdm_config import load_config
from tests.api.conftest import app_on, serve, steward_headers
from tests.api.test_pipeline_snapshot import run_and_publish
from tests.conftest import write_pipeline_config

STEWARD = "cli:li.na"


def test_a_split_applied_now_is_served_by_the_running_api(
    tmp_path: Path, simulated_sources: Path
) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(simulated_sources, sources)
    settings = Settings(
        home=tmp_path / "var", config_path=write_pipeline_config(sources, tmp_path / "mdm.yaml")
    )
    run_and_publish(settings)
    store = open_warehouse(settings.resolved_warehouse_url)
    xref = store.read_table("mdm.xref")
    sizes = xref.groupby("golden_id")["record_key"].transform("size")
    record, golden_id = (
        xref[sizes > 1].sort_values("record_key").iloc[0][["record_key", "golden_id"]]
    )
    other = xref.loc[
        (xref["golden_id"] == golden_id) & (xref["record_key"] != record), "record_key"
    ].iloc[0]

    with serve(app_on(settings.resolved_serving_path), headers=steward_headers()) as api:
        before = api.get(f"/source-records/{record}")
        assert before.status_code == 200
        assert before.json()["golden_id"] == golden_id

        ops = OpsStore(settings.resolved_ops_url)
        try:
            decision_id = ops.record_decision(
                Decision("split", STEWARD, "another person", record, golden_id=golden_id),
                xref=xref,
                golden=store.read_table("mdm.golden_records"),
                records=store.read_table("mdm.party_records"),
                survivorship=load_config(settings.config_path).survivorship,
            )
            if ops.decision(decision_id).status == "pending":
                # Risky (one valid ID and name split apart): a second steward approves it.
                ops.approve(decision_id, "cli:li.hua", "checked the documents", xref=xref)
        finally:
            ops.dispose()
        result = apply_decision(settings, decision_id)
        assert result.outcome == "applied", result.message

        after = api.get(f"/source-records/{record}")
        assert after.status_code == 200
        link = after.json()
        assert link["match_rule"] == f"steward:{decision_id}"
        # Apart now; which part keeps the old ID follows the usual rules (most records, then
        # the smallest cluster), so the split event is looked up on both.
        parted = api.get(f"/source-records/{other}").json()["golden_id"]
        assert link["golden_id"] != parted
        assert golden_id in {link["golden_id"], parted}
        events = [
            event
            for part in (link["golden_id"], parted)
            for event in api.get(f"/golden-records/{part}/events").json()
        ]
        split = [e for e in events if e["event_type"] == "split"]
        assert len(split) >= 1
        assert {e["decision_id"] for e in split} == {decision_id}
        assert {e["steward"] for e in split} == {STEWARD}
        updates = [e for e in events if e["event_type"] == "update"]
        assert updates and updates[-1]["decision_id"] == decision_id
        assert "source_count" in updates[-1]["changed_fields"]

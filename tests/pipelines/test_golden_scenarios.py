"""Golden records over successive runs on the simulated sources: IDs that last, decisions kept.

Each scenario runs the Python stages (extract → standardize → match → golden → review queue) on
its own copy of a small simulated bank, changes something, and runs again.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from connectors.ops_store import Decision, OpsStore
from connectors.settings import Settings
from connectors.simulated import simulate
from connectors.warehouse import open_warehouse
from pipelines.build import build_mdm_assets, build_resources
from pipelines.mdm_config import load_config
from tests.conftest import TEST_AS_OF, write_pipeline_config

PEOPLE = 400


@pytest.fixture(scope="module")
def base_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scenario_sources")
    simulate(folder, people=PEOPLE, seed=11, as_of=TEST_AS_OF)
    return folder


class Bank:
    """One scenario's sources, warehouse and ops store."""

    def __init__(self, root: Path, base: Path) -> None:
        self.sources = root / "sources"
        shutil.copytree(base, self.sources)
        self.settings = Settings(
            home=root / "var", config_path=write_pipeline_config(self.sources, root / "mdm.yaml")
        )
        self.store = open_warehouse(self.settings.resolved_warehouse_url)

    def run(self) -> None:
        config = load_config(self.settings.config_path)
        result = dg.materialize(build_mdm_assets(config), resources=build_resources(self.settings))
        assert result.success

    def xref(self) -> pd.Series:
        return self.store.read_table("mdm.xref").set_index("record_key")["golden_id"]

    def golden(self) -> pd.DataFrame:
        return self.store.read_table("mdm.golden_records").set_index("golden_id")

    def events(self) -> pd.DataFrame:
        return self.store.read_table("mdm.golden_events")

    def decide(self, decision: Decision) -> int:
        ops = OpsStore(self.settings.resolved_ops_url)
        try:
            return ops.record_decision(
                decision,
                xref=self.store.read_table("mdm.xref"),
                golden=self.store.read_table("mdm.golden_records"),
            )
        finally:
            ops.dispose()

    def truth(self) -> pd.Series:
        return pd.read_parquet(self.sources / "ground_truth.parquet").set_index("record_key")[
            "person_id"
        ]


@pytest.fixture
def bank(tmp_path: Path, base_sources: Path) -> Bank:
    bank = Bank(tmp_path, base_sources)
    bank.run()
    return bank


def active_singletons(bank: Bank) -> list[str]:
    golden = bank.golden()
    return sorted(golden.index[(golden["status"] == "active") & (golden["source_count"] == 1)])


def test_rerun_changes_nothing(bank: Bank):
    before_xref, before_golden = bank.xref(), bank.golden()
    events_before = len(bank.events())
    bank.run()
    pd.testing.assert_series_equal(before_xref, bank.xref())
    pd.testing.assert_frame_equal(before_golden, bank.golden())
    assert len(bank.events()) == events_before


def test_new_source_record_joins_the_golden_id_of_its_person(bank: Bank):
    truth = bank.truth().dropna()
    party = bank.store.read_table("mdm.party_records").set_index("record_key")
    crm_people = set(truth[truth.index.str.startswith("crm:")])
    core_only = truth[truth.index.str.startswith("core:") & ~truth.isin(crm_people)]
    # A core customer with a clean ID, mobile and name walks into the CRM for the first time.
    clean = party.loc[core_only.index.intersection(party.index)]
    clean = clean[clean["id_valid"] & clean["mobile"].notna() & (clean["name_script"] == "han")]
    core_key = clean.index[0]
    row = clean.loc[core_key]
    csv_path = bank.sources / "crm" / "crm_customers.csv"
    crm = pd.read_csv(csv_path, dtype=str, encoding="gbk", keep_default_na=False)
    new = {column: "" for column in crm.columns}
    new.update(
        {
            "客户编号": "CRM9999999",
            "姓名": row["name"],
            "证件号码": row["id_number"],
            "手机": row["mobile"],
            "更新时间": "2026/11/27 10:00",
        }
    )
    pd.concat([crm, pd.DataFrame([new])]).to_csv(csv_path, index=False, encoding="gbk")
    expected = bank.xref()[core_key]
    bank.run()
    assert bank.xref()["crm:CRM9999999"] == expected
    assert bank.golden().loc[expected, "source_count"] >= 2


def test_steward_merge_keeps_the_survivors_id_and_retires_the_other(bank: Bank):
    first, second = active_singletons(bank)[:2]
    # Without the steward, equal sizes would keep the smaller ID; the steward names the larger.
    decision_id = bank.decide(
        Decision(
            "merge",
            "王敏",
            "same customer, confirmed at branch",
            golden_id=second,
            related_golden_id=first,
        )
    )
    bank.run()
    golden = bank.golden()
    assert golden.loc[second, "status"] == "active"
    assert golden.loc[first, "status"] == "retired"
    assert golden.loc[first, "survivor_id"] == second
    assert golden.loc[second, "source_count"] == 2
    merges = bank.events().query("event_type == 'merge'")
    assert (merges["golden_id"] == second).any()
    assert (merges["related_golden_id"] == first).any()
    # The run that applied the decision names it on its events and on the records it placed.
    merge = merges[merges["related_golden_id"] == first].iloc[0]
    assert merge["decision_id"] == decision_id
    assert merge["steward"] == "王敏"
    placed = bank.store.read_table("mdm.xref").query("golden_id == @second")
    assert set(placed["match_rule"]) == {f"steward:{decision_id}"}


def test_steward_split_issues_a_new_id_and_keeps_the_old_on_the_larger_part(bank: Bank):
    golden = bank.golden()
    big = golden[(golden["status"] == "active") & (golden["source_count"] >= 3)].index[0]
    members = sorted(bank.xref()[bank.xref() == big].index)
    leaving = members[-1]
    highest_before = max(int(g[1:]) for g in golden.index)
    bank.decide(Decision("split", "李娜", "different person", record_key_l=leaving, golden_id=big))
    bank.run()
    xref = bank.xref()
    assert all(xref[m] == big for m in members[:-1])
    assert int(xref[leaving][1:]) > highest_before  # a new ID, never a reused one
    splits = bank.events().query("event_type == 'split'")
    assert ((splits["golden_id"] == xref[leaving]) & (splits["related_golden_id"] == big)).any()


def test_source_value_update_changes_the_golden_attribute_and_adds_history(bank: Bank):
    party = bank.store.read_table("mdm.party_records").set_index("record_key")
    core = party[party.index.str.startswith("core:") & party["mobile"].notna()]
    key = core.index[0]
    golden_id = bank.xref()[key]
    with sqlite3.connect(bank.sources / "core_banking.sqlite") as connection:
        connection.execute(
            "update cif_customer set mobile_no = ?, last_upd_ts = ? where cust_no = ?",
            ("13911112222", "2026-11-28 09:00:00", key.split(":", 1)[1]),
        )
    bank.run()
    assert bank.golden().loc[golden_id, "mobile"] == "13911112222"
    history = bank.store.read_table("mdm.golden_history")
    versions = history[history["golden_id"] == golden_id].sort_values("valid_from")
    assert len(versions) == 2
    assert versions.iloc[0]["valid_to"] == versions.iloc[1]["valid_from"]
    assert pd.isna(versions.iloc[1]["valid_to"])
    assert versions.iloc[1]["mobile"] == "13911112222"
    updates = bank.events().query("event_type == 'update' and golden_id == @golden_id")
    assert len(updates) == 1
    # The matching's own change: no decision, and which field changed (never its value).
    assert pd.isna(updates.iloc[0]["decision_id"])
    assert "mobile" in updates.iloc[0]["changed_fields"].split(",")


def test_a_decision_survives_a_full_re_extract(bank: Bank):
    first, second = active_singletons(bank)[:2]
    bank.decide(Decision("merge", "王敏", "confirmed", golden_id=first, related_golden_id=second))
    bank.run()
    xref_after_decision = bank.xref()
    events = len(bank.events())
    bank.run()  # every source extracted again, every stage recomputed
    pd.testing.assert_series_equal(xref_after_decision, bank.xref())
    assert bank.golden().loc[second, "survivor_id"] == first
    assert len(bank.events()) == events

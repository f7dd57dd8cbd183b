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
import yaml

from connectors.ops_store import Decision, OpsStore
from connectors.settings import Settings
from connectors.simulated import simulate
from connectors.warehouse import open_warehouse
from matching.model import FellegiSunterModel
from matching.stewardship import match_weight_waterfall
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
        """Record a decision as the console would; a risky one is approved by a second
        steward, so the scenario sees it applied (test_ops_store covers the waiting)."""
        ops = OpsStore(self.settings.resolved_ops_url)
        golden = self.store.read_table("mdm.golden_records")
        try:
            decision_id = ops.record_decision(
                decision,
                xref=self.store.read_table("mdm.xref"),
                golden=golden,
                records=self.store.read_table("mdm.party_records"),
                survivorship=load_config(self.settings.config_path).survivorship,
            )
            if ops.decision(decision_id).status == "pending":
                ops.approve(decision_id, "checker", "second look", golden=golden)
            return decision_id
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


def test_a_steward_merge_keeps_every_record_of_both_golden_records_together(bank: Bank):
    """Whatever the automatic rules say about the records' pairs across the two sides: the
    rules forbid automatic merges, and this one is the steward's."""
    golden = bank.golden()
    multi = golden[(golden["status"] == "active") & (golden["source_count"] >= 2)]
    party = bank.store.read_table("mdm.party_records").set_index("record_key")
    xref = bank.xref()
    # Two customers whose names share nothing: every cross pair is one `different_names`
    # forbids merging automatically.
    first = multi.index[0]
    second = next(
        g
        for g in multi.index[1:]
        if not set(str(multi.loc[g, "name"])) & set(str(multi.loc[first, "name"]))
    )
    members = sorted(xref[xref.isin([first, second])].index)
    assert len(members) >= 4 and party.loc[members, "name"].nunique() >= 2
    decision_id = bank.decide(
        Decision(
            "merge", "王敏", "one customer, confirmed", golden_id=first, related_golden_id=second
        )
    )
    bank.run()
    after = bank.xref()[members]
    assert after.nunique() == 1, after.to_dict()
    assert after.iloc[0] == first
    assert bank.golden().loc[second, "survivor_id"] == first
    placed = bank.store.read_table("mdm.xref").set_index("record_key").loc[members, "match_rule"]
    assert (placed == f"steward:{decision_id}").any()


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


def test_waterfalls_add_up_to_the_stored_weights(bank: Bank):
    # Every zone: the same model scored them all (this small bank leaves its review zone empty).
    scored = bank.store.query("select * from mdm.scored_pairs order by match_weight limit 300")
    records = bank.store.read_table("mdm.party_records")
    model = FellegiSunterModel.from_json(
        str(bank.store.query("select model_json from mdm.match_model").iloc[0, 0])
    )
    frequencies = model.term_frequencies(records)
    assert len(scored) == 300
    for _, pair in scored.iterrows():
        steps = match_weight_waterfall(model, pair, records, frequencies)
        assert steps["bits"].sum() == pytest.approx(pair["match_weight"], abs=1e-6)
        assert steps["end"].iloc[-1] == pytest.approx(pair["match_weight"], abs=1e-6)


def test_the_review_questions_group_the_queue_and_keep_when_first_asked(
    tmp_path: Path, base_sources: Path
):
    bank = Bank(tmp_path, base_sources)
    # A review zone from probability 0.001 up, so this small bank has a queue to group.
    document = yaml.safe_load(bank.settings.config_path.read_text(encoding="utf-8"))
    document["matching"]["thresholds"]["review"] = 0.001
    bank.settings.config_path.write_text(yaml.safe_dump(document, allow_unicode=True), "utf-8")
    bank.run()
    queue = bank.store.read_table("mdm.review_queue")
    questions = bank.store.read_table("mdm.review_questions")
    pairs = queue[queue["item_type"] == "pair"]
    assert len(pairs) > 0
    assert questions["pair_count"].sum() == len(pairs)  # every pair in exactly one question
    assert len(questions) < len(queue)  # some pairs share records: fewer questions than items
    assert questions["question_id"].is_unique
    asked = {k for keys in questions["record_keys"] for k in keys.split(",")}
    assert set(pairs["record_key_l"]) | set(pairs["record_key_r"]) <= asked
    assert questions["priority"].is_monotonic_decreasing
    # One queue row is enough to draw its pair's waterfall (it carries the comparison vector).
    model = FellegiSunterModel.from_json(
        str(bank.store.query("select model_json from mdm.match_model").iloc[0, 0])
    )
    records = bank.store.read_table("mdm.party_records")
    first = pairs.iloc[0]
    steps = match_weight_waterfall(model, first, records)
    assert steps["end"].iloc[-1] == pytest.approx(first["match_weight"], abs=1e-6)
    first_seen = questions.set_index("question_id")["first_seen_at"]
    bank.run()  # the same data asks the same questions, first seen when first asked
    again = bank.store.read_table("mdm.review_questions").set_index("question_id")
    assert set(again.index) == set(first_seen.index)
    pd.testing.assert_series_equal(again["first_seen_at"].sort_index(), first_seen.sort_index())

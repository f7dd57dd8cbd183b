"""`POST /match` on a bank the pipeline itself matched and published (the simulated sources).

The equality tests post a record's own canonical fields: it is in the index too, so its own
golden record comes first (the record itself scores highest), and every other record the
batch paired it with must come back with the batch's stored probability.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from connectors.settings import Settings
from connectors.simulated.schema import GROUND_TRUTH_FILE
from connectors.warehouse import open_warehouse
from golden_record_api.read_audit import InMemoryReadAuditor
from matching.blocking import prepare_records
from matching.comparison import RecordColumns
from matching.engine import link
from matching.incremental import configs_from_json
from matching.online import (
    CANDIDATE_FIELDS,
    block_key_hashes,
    build_live_index,
    candidate_keys,
    record_columns,
    score_candidate,
    standardize_candidate,
    typed,
)
from matching.standardize.record import record_frame
from tests.api.conftest import app_on, identity_provider, problem_detail, serve
from tests.api.test_pipeline_snapshot import run_and_publish
from tests.conftest import fresh_postgres_database, write_pipeline_config

SAMPLE = 60  # records posted for the equality test: enough pairs, a few seconds


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def bank(request, tmp_path_factory, simulated_sources) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The simulated bank run and published on each warehouse (the API reads a DuckDB
    snapshot either way; the PostgreSQL one is exported from the warehouse)."""
    with ExitStack() as stack:
        url = (
            stack.enter_context(fresh_postgres_database()) if request.param == "postgres" else None
        )
        root = tmp_path_factory.mktemp(f"api_match_{request.param}")
        sources = root / "sources"
        shutil.copytree(simulated_sources, sources)
        settings = Settings(
            home=root / "var",
            config_path=write_pipeline_config(sources, root / "mdm.yaml"),
            warehouse_url=url,
        )
        run_and_publish(settings)
        store = open_warehouse(settings.resolved_warehouse_url)
        auditor = InMemoryReadAuditor()
        anonymous = stack.enter_context(
            serve(app_on(settings.resolved_serving_path, read_auditor=auditor))
        )
        yield {
            "anonymous": anonymous,
            "auditor": auditor,
            "settings": settings,
            "records": store.read_table("mdm.party_records"),
            "xref": store.read_table("mdm.xref"),
            "scored": store.read_table("mdm.scored_pairs"),
            "model": store.read_table("mdm.match_model"),
            "truth": pd.read_parquet(sources / GROUND_TRUTH_FILE),
        }


def _client(bank: dict[str, Any], role: str) -> httpx.Client:
    return httpx.Client(
        base_url=bank["anonymous"].base_url,
        headers=identity_provider().headers(role),
        trust_env=False,
        timeout=30,
    )


def _fields(record: pd.Series) -> dict[str, Any]:
    """A party record's canonical fields, as a caller would post them."""
    body: dict[str, Any] = {}
    for field in CANDIDATE_FIELDS:
        value = record.get(field)
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
            continue
        if field == "birth_date":
            value = pd.Timestamp(value).date().isoformat()
        if field == "id_type" and value not in ("resident_id", "passport", "other"):
            continue
        body[field] = value
    return body


def _restandardized_alike(record: pd.Series, columns: list[str]) -> bool:
    """Whether posting the record's fields gives back its canonical values (a record whose
    other documents or second phone came from other columns does not)."""
    standardized = standardize_candidate(_fields(record))
    assert standardized.record is not None, standardized.rule
    again = typed(record_frame([standardized.record])).iloc[0]
    mine = typed(record.to_frame().T).iloc[0]
    return all(
        (pd.isna(again[c]) and pd.isna(mine[c])) or again[c] == mine[c]
        for c in columns
        if c != "record_key"
    )


def test_each_record_finds_its_golden_record_first_with_the_batch_probabilities(bank):
    records, xref, scored = bank["records"], bank["xref"], bank["scored"]
    config = configs_from_json(str(bank["model"]["config_json"].iloc[0]))[0]
    compared = record_columns(config, list(records.columns))
    golden_of = xref.set_index("record_key")["golden_id"]
    sizes = golden_of.value_counts()
    shared = records[records["record_key"].map(golden_of).map(sizes).fillna(0).ge(2).to_numpy()]
    sample = shared.sample(SAMPLE, random_state=3)
    probability = {
        (left, right): p
        for left, right, p in zip(
            scored["record_key_l"], scored["record_key_r"], scored["match_probability"], strict=True
        )
    }
    client = _client(bank, "steward")
    checked_pairs = posted = 0
    for _, record in sample.iterrows():
        if not _restandardized_alike(record, compared):
            continue
        posted += 1
        me = str(record["record_key"])
        response = client.post("/match", json={**_fields(record), "limit": 50})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["candidates"][0]["golden_id"] == golden_of[me]
        got = {
            r["record_key"]: r["match_probability"]
            for c in body["candidates"]
            for r in c["records"]
        }
        batch = {
            (right if left == me else left): p
            for (left, right), p in probability.items()
            if me in (left, right) and golden_of.get(right if left == me else left) is not None
        }
        # Blocking finds what the batch found (up to the 50 golden records returned).
        if len(body["candidates"]) < 50:
            assert set(batch) <= set(got)
        for other, p in batch.items():
            if other in got:
                assert abs(got[other] - p) <= 1e-9, (me, other)
                checked_pairs += 1
        steps = body["candidates"][0]["explanation"]
        assert steps[0]["step"] == "prior"
        assert steps[-1]["end"] == pytest.approx(body["candidates"][0]["match_weight"])
    assert posted >= SAMPLE // 2  # most records post back to their own canonical values
    assert checked_pairs >= posted  # each has at least one sibling paired by the batch


def test_a_held_out_record_finds_its_person_first(bank):
    """Hold records out of the batch, match the rest, then match each held-out record
    against the live index of the rest. The share is reported, not tuned to."""
    records, truth = bank["records"], bank["truth"]
    config = configs_from_json(str(bank["model"]["config_json"].iloc[0]))[0]
    person = truth.set_index("record_key")["person_id"]
    people = records["record_key"].map(person)
    several = people.map(people.value_counts()).ge(2).to_numpy() & people.notna().to_numpy()
    held = records[several].sample(100, random_state=5)
    rest = records[~records["record_key"].isin(held["record_key"])]
    result = link(rest, config)
    index = build_live_index(rest, config, result.model, result.lookalike_substitutions)
    cluster = result.clusters.set_index("record_key")["cluster_id"]
    indexed = index.records
    found_first = 0
    for _, record in held.iterrows():
        candidate = record.to_frame().T.reset_index(drop=True)
        record = typed(candidate).iloc[0].to_dict()
        keys = candidate_keys(record, config)
        positions = np.unique(index.keys.loc[index.keys["key"].isin(keys), "position"])
        if len(positions) == 0:
            continue
        found = indexed.iloc[positions].reset_index(drop=True)
        scored = score_candidate(record, found, config, result.model, index.spelling)
        best = scored.pairs.sort_values("match_probability", ascending=False).iloc[0]
        members = cluster.index[cluster == cluster[best["record_key_r"]]]
        found_first += bool((person.reindex(members) == person[record["record_key"]]).any())
    share = found_first / len(held)
    print(f"held-out records whose true person's cluster ranks first: {share:.0%} of 100")
    assert share >= 0.8


def test_a_candidate_without_identifying_fields_is_a_422_naming_them(bank):
    client = _client(bank, "app")
    detail = problem_detail(client.post("/match", json={"gender": "F"}), 422)
    assert "name" in detail and "id_number" in detail and "mobile" in detail
    detail = problem_detail(client.post("/match", json={}), 422)
    assert "name" in detail


def test_a_malformed_field_is_a_422_naming_the_field_not_its_value(bank):
    client = _client(bank, "app")
    response = client.post("/match", json={"name": "张伟", "birth_date": "1985-13-45"})
    detail = problem_detail(response, 422)
    assert "birth_date" in detail and "1985-13-45" not in detail
    detail = problem_detail(client.post("/match", json={"name": "张伟", "nmae": "x"}), 422)
    assert "nmae" in detail
    detail = problem_detail(client.post("/match", json={"name": "张伟", "gender": "X"}), 422)
    assert "gender" in detail


def test_a_candidate_the_pipeline_would_quarantine_is_a_422_naming_the_rule(bank):
    client = _client(bank, "app")
    response = client.post("/match", json={"name": "北京某某科技有限公司"})
    detail = problem_detail(response, 422)
    assert "organization_name" in detail or "rule" in detail
    assert "科技" not in detail


@pytest.mark.parametrize("role", ["auditor", "relationship_manager"])
def test_roles_without_the_match_scope_get_403(bank, role):
    detail = problem_detail(_client(bank, role).post("/match", json={"name": "张伟"}), 403)
    assert "match:read" in detail


def test_without_credentials_it_is_401(bank):
    assert bank["anonymous"].post("/match", json={"name": "张伟"}).status_code == 401


def test_golden_fields_are_masked_per_role_and_each_answer_is_audited(bank):
    records = bank["records"]
    record = records[records["id_valid"].eq(True) & records["mobile"].notna()].iloc[0]
    body = {"name": record["name"], "id_number": record["id_number"], "mobile": record["mobile"]}
    before = len(bank["auditor"].events)
    steward = _client(bank, "steward").post("/match", json=body)
    app = _client(bank, "app").post("/match", json=body)
    assert steward.status_code == app.status_code == 200
    clear = steward.json()["candidates"][0]["golden_record"]
    masked = app.json()["candidates"][0]["golden_record"]
    assert clear["golden_id"] == masked["golden_id"]
    assert "*" not in clear["id_number"] and "*" in masked["id_number"]
    assert masked.get("birth_date") is None
    assert masked["mobile"] != clear["mobile"]
    events = [e for e in bank["auditor"].events[before:] if e.endpoint == "POST /match"]
    assert len(events) == 2
    assert {e.principal.role for e in events} == {"steward", "app"}
    assert clear["golden_id"] in events[0].golden_ids
    shown = {e.principal.role: e.clear_fields for e in events}
    assert "golden_record.id_number" in shown["steward"]
    assert "golden_record.id_number" not in shown["app"]


def test_ranked_most_probable_first_with_a_zone_each(bank):
    records = bank["records"]
    record = records[records["name"].notna()].iloc[7]
    response = _client(bank, "app").post(
        "/match", json={"name": record["name"], "birth_date": "1990-01-01", "limit": 5}
    )
    assert response.status_code == 200
    assert "standardize;dur=" in response.headers["server-timing"]
    candidates = response.json()["candidates"]
    assert len(candidates) <= 5
    probabilities = [c["match_probability"] for c in candidates]
    assert probabilities == sorted(probabilities, reverse=True)
    assert {c["zone"] for c in candidates} <= {"auto_match", "review", "non_match"}


def test_the_live_index_keeps_every_key_of_a_kept_block_sorted_and_no_key_of_a_skipped_one(
    bank,
):
    """The index is what the batch blocks on: a key whose block holds more records than its
    rule's cap is left out (the batch skips that block), every other key is kept, and the
    keys come sorted by key then position (the order the point store's B-tree is filled in).
    The expected set is counted here with pandas, independently of the index's one sort."""
    records = bank["records"]
    config = configs_from_json(str(bank["model"]["config_json"].iloc[0]))[0]
    capped = config.model_copy(update={"max_block_size": 2})  # small: some blocks are skipped
    result = link(records, config)
    index = build_live_index(records, capped, result.model, result.lookalike_substitutions)
    wanted = record_columns(capped, list(records.columns))
    every = block_key_hashes(RecordColumns(prepare_records(typed(records[wanted]), capped)), capped)
    size = every.groupby("key")["position"].transform("size")
    caps = np.array([r.max_block_size or 2 for r in capped.blocking_rules])
    expected = every[size.to_numpy() <= caps[every["rule"].to_numpy()]]
    assert 0 < len(expected) < len(every)  # the cap skipped some blocks and kept others
    got = index.keys[["key", "position"]].to_numpy()
    want = expected.sort_values(["key", "position"])[["key", "position"]].to_numpy()
    assert np.array_equal(got, want)

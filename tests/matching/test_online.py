"""The live index's block keys (`matching.online`): a record's keys computed alone, as
`POST /match` computes a prospect's, are the keys the index holds for it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connectors.settings import PROJECT_ROOT
from connectors.simulated import simulate
from matching.comparison import RecordColumns
from matching.config import MatchingConfig
from matching.engine import link
from matching.model import FellegiSunterModel
from matching.online import (
    ScoredCandidates,
    best_first,
    best_per_group,
    block_key_hashes,
    build_live_index,
    candidate_keys,
    explanation,
    record_columns,
    score_candidate,
    typed,
)
from matching.stewardship import match_weight_waterfall
from pipelines.mdm_config import load_config
from tests.api.conftest import PARTY
from tests.conftest import TEST_AS_OF, standardized_sources, write_pipeline_config
from tests.matching.test_engine import party_records, shipped_config


def keys_alone(records: pd.DataFrame, position: int, config: MatchingConfig) -> list[int]:
    """The block keys of one record from its values, as `POST /match` computes a prospect's."""
    return candidate_keys(typed(records.iloc[[position]]).iloc[0].to_dict(), config)


def assert_keys_alone_are_held(records: pd.DataFrame, config: MatchingConfig) -> None:
    wanted = record_columns(config, list(records.columns))
    together = block_key_hashes(RecordColumns(typed(records[wanted])), config)
    held = together.groupby("position")["key"].agg(lambda k: sorted(set(k.tolist())))
    for position in range(len(records)):
        alone = keys_alone(records, position, config)
        assert alone == held.get(position, []), records["record_key"].iloc[position]


def test_a_record_alone_has_the_keys_the_index_holds_for_it():
    # Regression: `id_full` / `id_consistent` are codes numbered within the frame, so hashing
    # them gave a lone record the key of the index's first ID (a stranger) and not its own.
    assert_keys_alone_are_held(pd.DataFrame(PARTY), load_config(PROJECT_ROOT / "mdm.yaml").matching)


@pytest.mark.slow  # simulates and standardizes two banks: make test, not the unit tier
def test_every_simulated_record_alone_has_the_keys_the_index_holds_for_it(
    simulated_sources: Path, tmp_path: Path
) -> None:
    # Both banks: the second keeps documents in a table of their own (`other_ids`, the
    # several-valued `id_numbers` key) and masked IDs (`id_visible`, `id_sequence`, `id_tail`).
    demo = write_pipeline_config(simulated_sources, tmp_path / "demo" / "mdm.yaml")
    second = tmp_path / "second" / "mdm.yaml"
    second.parent.mkdir()
    shutil.copy(PROJECT_ROOT / "examples" / "second_bank" / "mdm.yaml", second)
    simulate(second.parent / "sources", people=600, seed=3, as_of=TEST_AS_OF, shape="second_bank")
    for path in (demo, second):
        config = load_config(path)
        records = pd.concat(
            [standardized for _, standardized in standardized_sources(path)], ignore_index=True
        )
        assert records["other_ids"].notna().any() or path == demo
        assert_keys_alone_are_held(records, config.matching)


def test_records_sharing_an_id_share_its_key_and_strangers_share_none():
    config = load_config(PROJECT_ROOT / "mdm.yaml").matching
    records = pd.DataFrame(PARTY)  # C…001 and CRM…001 share a resident ID; C…003 is another
    keys = {
        str(record["record_key"]): set(keys_alone(records, i, config))
        for i, record in records.iterrows()
    }
    assert keys["core:C000000001"] & keys["crm:CRM0000001"]
    rule = config.blocking_rules[0]
    assert rule.columns == ["id_full"]
    single = config.model_copy(update={"blocking_rules": [rule]})
    alone = {k: set(keys_alone(records, i, single)) for i, k in enumerate(keys)}
    assert alone["core:C000000001"] == alone["crm:CRM0000001"]
    assert not alone["core:C000000001"] & alone["core:C000000003"]


def _scored_against_index(
    record_key: str,
) -> tuple[FellegiSunterModel, ScoredCandidates]:
    """One record of the engine tests' bank scored against the live index of all of them,
    as `POST /match` scores a prospect: its own record and every one it blocks with."""
    records = party_records()
    config = shipped_config()
    result = link(records, config)
    index = build_live_index(records, config, result.model, result.lookalike_substitutions)
    candidate = records[records["record_key"] == record_key].reset_index(drop=True)
    record = typed(candidate).iloc[0].to_dict()
    keys = candidate_keys(record, config)
    positions = np.unique(index.keys.loc[index.keys["key"].isin(keys), "position"])
    found = index.records.iloc[positions].reset_index(drop=True)
    scored = score_candidate(record, found, config, result.model, index.spelling)
    return result.model, scored


def test_the_explanation_of_a_found_pair_is_the_steward_pages_waterfall_exactly():
    # C001 is 张伟, a common name: its exact-name pairs carry a term-frequency adjustment.
    model, scored = _scored_against_index("core:C001")
    assert len(scored.pairs) >= 2
    adjusted = 0
    for row in range(len(scored.pairs)):
        fast = explanation(model, scored, row)
        steward = match_weight_waterfall(
            model, scored.pairs.iloc[row], scored.frame, scored.term_frequencies
        )
        assert fast == steward.to_dict("records")  # bit for bit, labels included
        assert fast[-1]["end"] == pytest.approx(scored.pairs["match_weight"].iloc[row])
        adjusted += any("term frequency" in step["level"] for step in fast)
    assert adjusted >= 1


def test_ranking_by_numpy_equals_the_pandas_sort_with_ties_and_unlinked_records():
    pairs = pd.DataFrame(
        {
            "record_key_r": ["s:4", "s:2", "s:3", "s:1", "s:5", "s:6", "s:0"],
            "match_probability": [0.9, 0.9, 0.9, 0.2, 0.99, 0.9, 0.9],
            "match_weight": [3.0, 3.0, 3.0, -2.0, 7.0, 3.0, 5.0],
        }
    )
    group = np.array(["G2", "G1", "G2", "G3", None, "G1", "G3"], dtype=object)
    linked = pd.notna(group)
    # The reference: the pandas sorts the router used before.
    ranked = (
        pairs[linked]
        .assign(_group=group[linked])
        .sort_values(
            ["match_probability", "match_weight", "record_key_r"],
            ascending=[False, False, True],
            kind="stable",
        )
        .drop_duplicates("_group")
    )
    assert best_per_group(pairs, group).tolist() == ranked.index.tolist() == [6, 1, 2]
    by_rank = pairs.sort_values(
        ["match_probability", "match_weight"], ascending=False, kind="stable"
    )
    assert best_first(pairs).tolist() == by_rank.index.tolist()
    assert best_first(pairs).tolist()[:3] == [4, 6, 0]  # ties kept in found order
    assert len(best_per_group(pairs, np.full(len(pairs), None, dtype=object))) == 0

"""The live index's block keys (`matching.online`): a record's keys computed alone, as
`POST /match` computes a prospect's, are the keys the index holds for it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from connectors.settings import PROJECT_ROOT
from connectors.simulated import simulate
from matching.comparison import RecordColumns
from matching.config import MatchingConfig
from matching.online import block_key_hashes, candidate_keys, record_columns, typed
from pipelines.mdm_config import load_config
from tests.api.conftest import PARTY
from tests.conftest import TEST_AS_OF, standardized_sources, write_pipeline_config


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

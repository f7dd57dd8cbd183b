"""The live index's block keys (`matching.online`): a record's keys computed alone, as
`POST /match` computes a prospect's, are the keys the index holds for it."""

from __future__ import annotations

import pandas as pd

from connectors.settings import PROJECT_ROOT
from matching.comparison import RecordColumns
from matching.online import block_key_hashes, candidate_keys, record_columns, typed
from pipelines.mdm_config import load_config
from tests.api.conftest import PARTY


def test_a_record_alone_has_the_keys_the_index_holds_for_it():
    # Regression: `id_full` / `id_consistent` are codes numbered within the frame, so hashing
    # them gave a lone record the key of the index's first ID (a stranger) and not its own.
    config = load_config(PROJECT_ROOT / "mdm.yaml").matching
    records = pd.DataFrame(PARTY)
    wanted = record_columns(config, list(records.columns))
    together = block_key_hashes(RecordColumns(typed(records[wanted])), config)
    for position in range(len(records)):
        alone = candidate_keys(records.iloc[[position]], config)
        held = sorted(set(together.loc[together["position"] == position, "key"].tolist()))
        assert alone == held, records["record_key"].iloc[position]


def test_records_sharing_an_id_share_its_key_and_strangers_share_none():
    config = load_config(PROJECT_ROOT / "mdm.yaml").matching
    records = pd.DataFrame(PARTY)  # C…001 and CRM…001 share a resident ID; C…003 is another
    keys = {
        str(record["record_key"]): set(candidate_keys(records.iloc[[i]], config))
        for i, record in records.iterrows()
    }
    assert keys["core:C000000001"] & keys["crm:CRM0000001"]
    rule = config.blocking_rules[0]
    assert rule.columns == ["id_full"]
    single = config.model_copy(update={"blocking_rules": [rule]})
    alone = {k: set(candidate_keys(records.iloc[[i]], single)) for i, k in enumerate(keys)}
    assert alone["core:C000000001"] == alone["crm:CRM0000001"]
    assert not alone["core:C000000001"] & alone["core:C000000003"]

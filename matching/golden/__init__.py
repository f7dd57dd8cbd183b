"""Golden records: survivorship per attribute with lineage, and persistent golden IDs.

Survivorship picks, for every cluster and attribute, the source record whose value wins under an
ordered rule chain (configurable); fields that belong together (the address parts) survive
together from one record. Golden IDs persist across runs: a cluster keeps the ID of the prior
golden record holding most of its records, merged IDs are retired with a pointer to the
survivor, split-off parts get new IDs, and every change is an event. Same input, same IDs, and
no events on a rerun.

One module per concept: `survivorship` (the rule chain and lineage), `identifiers` (persistent
golden IDs), `xref` (source record → golden ID with its evidence), `events` (golden events and
the change feed's outbox rows), `history` (versions with valid_from / valid_to), `records`
(one run's golden records from all of these), `columns` (every table's shape). Callers import
from this package.
"""

from matching.golden.columns import (
    EVENT_COLUMNS,
    GOLDEN_ATTRIBUTES,
    GOLDEN_COLUMNS,
    HISTORY_COLUMNS,
    HISTORY_VERSIONED,
    LINEAGE_COLUMNS,
    OUTBOX_COLUMNS,
    XREF_COLUMNS,
)
from matching.golden.events import outbox_rows, with_event_columns
from matching.golden.history import update_history
from matching.golden.identifiers import assign_golden_ids, format_golden_id, next_golden_number
from matching.golden.records import GoldenResult, build_golden_records, record_columns
from matching.golden.survivorship import Lineage, SurvivorshipConfig, SurvivorshipRule, survive

__all__ = [
    "EVENT_COLUMNS",
    "GOLDEN_ATTRIBUTES",
    "GOLDEN_COLUMNS",
    "HISTORY_COLUMNS",
    "HISTORY_VERSIONED",
    "LINEAGE_COLUMNS",
    "OUTBOX_COLUMNS",
    "XREF_COLUMNS",
    "GoldenResult",
    "Lineage",
    "SurvivorshipConfig",
    "SurvivorshipRule",
    "assign_golden_ids",
    "build_golden_records",
    "format_golden_id",
    "next_golden_number",
    "outbox_rows",
    "record_columns",
    "survive",
    "update_history",
    "with_event_columns",
]

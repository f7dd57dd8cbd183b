"""The golden tables' columns: one home for the shape of golden records, xref, events,
lineage, the change feed's outbox and history.
"""

from __future__ import annotations

GOLDEN_ATTRIBUTES = (
    "name",
    "name_pinyin",
    "id_type",
    "id_number",
    "birth_date",
    "gender",
    "mobile",
    "email",
    "address",
    "province",
    "city",
    "district",
    "adcode",
)


GOLDEN_COLUMNS = (
    "golden_id",
    *GOLDEN_ATTRIBUTES,
    "source_count",
    "source_systems",
    "status",
    "survivor_id",
    "created_at",
    "updated_at",
)


XREF_COLUMNS = (
    "record_key",
    "source_system",
    "source_record_id",
    "golden_id",
    "match_rule",
    "match_weight",
    "linked_at",
)


EVENT_COLUMNS = (
    "event_id",
    "run_id",
    "event_type",
    "golden_id",
    "related_golden_id",
    "detail",
    "occurred_at",
    # Who changed it: the steward decision an event applies (both null for the matching's
    # own events), and which versioned columns an update changed (comma-separated names).
    "decision_id",
    "steward",
    "changed_fields",
)


LINEAGE_COLUMNS = ("golden_id", "attribute", "record_key", "rule")


# The change feed's outbox (`mdm.change_outbox`): one row per golden event, numbered by `seq`
# (1, 2, 3, ... in the order the events were committed) so a consumer pages with "after seq N".
# Golden IDs, kinds and the *names* of changed fields only: no personal value and not the
# event's free-text `detail`; a consumer re-reads the golden record through the API, where its
# role's masking and the read audit apply.
OUTBOX_COLUMNS = (
    "seq",
    "event_id",
    "event_type",
    "golden_id",
    "related_golden_id",
    "changed_fields",
    "decision_id",
    "steward",
    "occurred_at",
    "run_id",
)


HISTORY_VERSIONED = (*GOLDEN_ATTRIBUTES, "source_count", "source_systems", "status", "survivor_id")


HISTORY_COLUMNS = ("golden_id", *HISTORY_VERSIONED, "valid_from", "valid_to", "run_id")

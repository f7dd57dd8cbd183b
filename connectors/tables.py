"""Every warehouse table the pipeline writes or reads, named once.

A stage, the API's publisher, the quick apply and the benchmarks name a table through these
constants, never a string of their own: renaming a table is then one line here (and its dbt
source in dbt_project/models/sources.yml). docs/CONTRACTS.md lists the columns of each; the
contract test (tests/contracts_doc.py) checks them after a run.

The schemas: `raw` holds the landed source tables (named by the source's config), `mdm` the
standardized records, matching and golden tables, `dq` the quality results, `marts` the dbt
models the API and the console read.
"""

from __future__ import annotations

from typing import Final

# Standardization.
PARTY_RECORDS: Final = "mdm.party_records"
QUARANTINE: Final = "mdm.quarantine"
#: Per source record, the hash of the raw rows it was standardized from.
PARTY_ROW_HASHES: Final = "mdm.party_row_hashes"
#: The records an incremental run standardized again, and the region its matching
#: re-clustered, each tagged with the run.
CHANGED_RECORDS: Final = "mdm.changed_records"
TOUCHED_RECORDS: Final = "mdm.touched_records"
STANDARDIZATION_ACCURACY: Final = "mdm.standardization_accuracy"

# Matching.
SCORED_PAIRS: Final = "mdm.scored_pairs"
CLUSTERS: Final = "mdm.clusters"
OVERSIZED_CLUSTERS: Final = "mdm.oversized_clusters"
MATCH_MODEL: Final = "mdm.match_model"
MATCH_EVALUATION: Final = "mdm.match_evaluation"
#: Per record, its block key under each blocking rule (`record_key`, `rule`: the rule's number
#: in the config, `key`: 64-bit hash, matching.online.block_key_hashes), and the key of each
#: term-frequency-adjusted value (`rule`: the comparison's number among those): written by
#: the full run, kept up to date for the changed records by the incremental one, which
#: blocks and counts term frequencies on them in SQL.
BLOCK_KEYS: Final = "mdm.block_keys"
TERM_KEYS: Final = "mdm.term_keys"

# Golden records.
GOLDEN_RECORDS: Final = "mdm.golden_records"
XREF: Final = "mdm.xref"
GOLDEN_LINEAGE: Final = "mdm.golden_lineage"
GOLDEN_HISTORY: Final = "mdm.golden_history"
GOLDEN_EVENTS: Final = "mdm.golden_events"
#: The change feed: every golden event numbered for consumers, written with its change.
CHANGE_OUTBOX: Final = "mdm.change_outbox"

# Stewardship.
REVIEW_QUEUE: Final = "mdm.review_queue"
REVIEW_QUESTIONS: Final = "mdm.review_questions"

# Ops store (connectors/ops_store.py: SQLite or PostgreSQL, not the warehouse).
#: Online writes that arrived while the home was busy, applied after it (connectors.record_inbox).
RECORD_INBOX: Final = "record_inbox"

# Extraction.
WATERMARKS: Final = "raw._watermarks"

# Quality.
DQ_RESULTS: Final = "dq.results"
DQ_FAILING_ROWS: Final = "dq.failing_rows"
DQ_RUNS: Final = "dq.runs"

# Marts (dbt).
CUSTOMER_360: Final = "marts.customer_360"
RM_TASKS: Final = "marts.rm_tasks"
KPI_SERVICE_DAILY: Final = "marts.kpi_service_daily"
KPI_LOAN_CYCLE: Final = "marts.kpi_loan_cycle"
KPI_MDM: Final = "marts.kpi_mdm"
KPI_MDM_SOURCES: Final = "marts.kpi_mdm_sources"

#: What the match step reads and writes: a stage after it needs all of them.
MATCH_TABLES: Final = (PARTY_RECORDS, SCORED_PAIRS, CLUSTERS)


def raw_table_name(system: str, table: str) -> str:
    """A source table's name in the raw schema (and its asset key's last part)."""
    return f"{system}__{table.lower()}"


def raw_table(system: str, table: str) -> str:
    """A source table's qualified name in the warehouse: `raw.<system>__<table>`."""
    return f"raw.{raw_table_name(system, table)}"

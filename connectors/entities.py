"""The canonical activity entities a bank's sources map onto: accounts, loans, loan
applications, service tickets and relationship managers.

One home for each entity's canonical table and fields (docs/CONTRACTS.md §2b, the config
reference): a source maps its own table and columns onto them under
`sources.<name>.entities.<entity>` in mdm.yaml, the `canonicalize_activity` stage writes
`canonical.<table>` from whatever is mapped (every source's rows together, typed), and dbt reads
only those tables. Nothing downstream knows a source's own table or column names.

Values are parsed here, once: a value that is present but does not parse is NULL in the
canonical table and counted per field (`parse_failures`), never silently lost; a code outside
the field's canonical values is `other` and counted (`unmapped_codes`) with the raw code, so
`mdm check` can print the line to add.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FieldKind = Literal["key", "owner", "text", "code", "decimal", "integer", "date", "timestamp"]

#: The canonical value of a code the source's list does not cover.
OTHER_CODE = "other"


@dataclass(frozen=True)
class EntityField:
    name: str
    kind: FieldKind
    description: str
    values: tuple[str, ...] = ()  # the canonical values of a `code` field (besides `other`)
    required: bool = False  # a mapping must map it


@dataclass(frozen=True)
class Entity:
    name: str  # the key under `sources.<name>.entities`
    table: str  # the canonical table, schema-qualified
    description: str
    fields: tuple[EntityField, ...]

    @property
    def key(self) -> EntityField:
        return next(f for f in self.fields if f.kind == "key")

    @property
    def owner(self) -> EntityField | None:
        return next((f for f in self.fields if f.kind == "owner"), None)

    def field(self, name: str) -> EntityField:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)


CANONICAL_SCHEMA = "canonical"
ENTITY_COVERAGE = f"{CANONICAL_SCHEMA}.entity_coverage"  # which entities some source maps
CANONICAL_REJECTED = f"{CANONICAL_SCHEMA}.quarantine"  # activity rows refused, with payload
ROW_CHECKS = f"{CANONICAL_SCHEMA}.row_checks"  # per-row parse / code flags the checks read

_OWNER = EntityField(
    "customer_no",
    "owner",
    "the owning customer's key in the same source's party table (its `key_column`)",
    required=True,
)
_BRANCH = EntityField("branch_no", "text", "branch code")
_UPDATED = EntityField("updated_at", "timestamp", "last change in the source (latest row wins)")

ENTITIES: dict[str, Entity] = {
    entity.name: entity
    for entity in (
        Entity(
            "account",
            f"{CANONICAL_SCHEMA}.accounts",
            "Deposit and wealth accounts: balances make a customer's AUM.",
            (
                EntityField("account_no", "key", "the account's key", required=True),
                _OWNER,
                EntityField(
                    "account_type",
                    "code",
                    "DEMAND current, TIME term deposit, WEALTH wealth-management product",
                    ("DEMAND", "TIME", "WEALTH"),
                ),
                EntityField("product_code", "text", "the source's product code"),
                EntityField("currency", "text", "ISO 4217 code, e.g. CNY, USD"),
                EntityField("balance", "decimal", "balance in the account's currency"),
                EntityField("opened_on", "date", "opening date"),
                EntityField("maturity_date", "date", "maturity of a term deposit or product"),
                _BRANCH,
                EntityField(
                    "account_status",
                    "code",
                    "whether the account is still held (a frozen account is ACTIVE)",
                    ("ACTIVE", "CLOSED"),
                ),
                _UPDATED,
            ),
        ),
        Entity(
            "loan",
            f"{CANONICAL_SCHEMA}.loans",
            "Loans granted, with their outstanding balance and five-tier classification.",
            (
                EntityField("loan_id", "key", "the loan's key", required=True),
                _OWNER,
                EntityField("application_id", "text", "the loan application it came from"),
                EntityField("principal", "decimal", "principal, CNY"),
                EntityField("outstanding", "decimal", "outstanding balance, CNY"),
                EntityField("interest_rate", "decimal", "annual rate, e.g. 0.0385"),
                EntityField("start_date", "date", "start of the loan"),
                EntityField("end_date", "date", "contractual end"),
                EntityField(
                    "five_tier_class",
                    "code",
                    "five-tier loan classification (正常 pass … 损失 loss)",
                    ("正常", "关注", "次级", "可疑", "损失"),
                ),
                _BRANCH,
                _UPDATED,
            ),
        ),
        Entity(
            "loan_application",
            f"{CANONICAL_SCHEMA}.loan_applications",
            "Loan applications with the time each stage was reached (the loan-cycle KPIs).",
            (
                EntityField("application_id", "key", "the application's key", required=True),
                _OWNER,
                EntityField("product", "text", "loan product"),
                EntityField("amount", "decimal", "requested amount, CNY"),
                _BRANCH,
                EntityField("submitted_at", "timestamp", "submitted"),
                EntityField("pre_reviewed_at", "timestamp", "pre-review done"),
                EntityField("credit_reviewed_at", "timestamp", "credit review done"),
                EntityField("approved_at", "timestamp", "approved"),
                EntityField("disbursed_at", "timestamp", "disbursed"),
                EntityField(
                    "application_status",
                    "code",
                    "where the application stands; the loan-cycle KPI times SUBMITTED to DISBURSED",
                    ("SUBMITTED", "IN_REVIEW", "APPROVED", "REJECTED", "DISBURSED"),
                ),
                _UPDATED,
            ),
        ),
        Entity(
            "service_ticket",
            f"{CANONICAL_SCHEMA}.service_tickets",
            "Service tickets: complaints, inquiries, requests (the service KPIs, RM tasks).",
            (
                EntityField("ticket_id", "key", "the ticket's key", required=True),
                _OWNER,
                EntityField(
                    "channel",
                    "code",
                    "where the customer raised the ticket",
                    ("branch", "phone", "mobile_app", "wechat", "online"),
                ),
                EntityField(
                    "category",
                    "code",
                    "complaints have their own SLA",
                    ("complaint", "inquiry", "address_change", "loss_report", "request"),
                ),
                EntityField("created_at", "timestamp", "opened"),
                EntityField("first_response_at", "timestamp", "first response, NULL if none yet"),
                EntityField("resolved_at", "timestamp", "resolved, NULL if not yet"),
                EntityField("csat", "integer", "satisfaction 1-5"),
                EntityField("relationship_manager_id", "text", "the RM handling it"),
                _BRANCH,
                EntityField(
                    "ticket_status",
                    "code",
                    "where the ticket stands; when unmapped or other, a ticket with "
                    "resolved_at is resolved",
                    ("resolved", "in_progress", "awaiting_response"),
                ),
                _UPDATED,
            ),
        ),
        Entity(
            "relationship_manager",
            f"{CANONICAL_SCHEMA}.relationship_managers",
            "Relationship managers and the branch each works at.",
            (
                EntityField("relationship_manager_id", "key", "the RM's staff id", required=True),
                EntityField("relationship_manager_name", "text", "the RM's name"),
                _BRANCH,
                EntityField("branch_name", "text", "the branch's name"),
                _UPDATED,
            ),
        ),
    )
}

#: Columns every canonical activity table has besides its entity's fields, first.
LINEAGE_COLUMNS = ("source_system", "record_key", "owner_record_key", "batch_id")

EntityName = Literal[
    "account", "loan", "loan_application", "service_ticket", "relationship_manager"
]

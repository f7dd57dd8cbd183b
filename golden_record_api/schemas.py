"""Request and response schemas of the API (requests first, then responses).

Response fields follow the contract tables (CONTRACTS.md §3, §5) with two changes a client
wants: `source_systems` is a list instead of comma-separated text, and every field arrives
clear, masked or not at all as the access policy gives it to the caller's role (`policy`,
`access_policy.yaml`); a field left out is absent from the JSON, not null.

Every timestamp leaves the API with the bank's offset, +08:00 (CONTRACTS.md §8). The snapshot
stores naive timestamps of two kinds, and which kind a column is decides how it is read:
`PipelineTimestamp` for the times the pipeline itself stamps (`created_at`, `linked_at`,
`valid_from`, `occurred_at`, …: naive UTC, `pd.Timestamp.now(tz="UTC").tz_localize(None)`) and
`SourceTimestamp` for times that come from the bank's systems (`source_updated_at`, the marts'
`last_contact_at`: naive China time, CONTRACTS.md §2b, §3).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from golden_record_api.snapshot import LOOKUP_KEYS
from matching.standardize.dates import CHINA_OFFSET_MINUTES

# ASCII digits only: `\d` also matches Arabic-Indic and other Unicode digits. The anchored
# text is what the OpenAPI document shows as the parameter's `pattern`.
GOLDEN_ID_REGEX = r"^G[0-9]{10}$"
GOLDEN_ID_PATTERN = re.compile(GOLDEN_ID_REGEX)
GOLDEN_ID_EXAMPLE = "G0000000001"

# The bank's zone, Asia/Shanghai, as the fixed offset it has kept since 1991 (a ZoneInfo would
# give +09:00 to summer times before then; the pipeline's China time is always UTC+8).
BANK_TIMEZONE = timezone(timedelta(minutes=CHINA_OFFSET_MINUTES), "Asia/Shanghai")


# What `as_of` accepts: an ISO 8601 calendar date, optionally with a time and a zone (`Z`,
# `+08`, `+0800`, `+08:00`), all in the extended form (`2026-11-28T10:00:00`) or all in the basic
# one (`20261128T100000`), years 1900-2199. Days are checked per month so that a value matching
# the pattern is a real date (only 29 February of a common year gets through, and then a 422).
def _iso_date_or_datetime_regex() -> str:
    def form(dash: str, colon: str, separators: str) -> str:
        day31, day30, day29 = (
            "(0[1-9]|[12][0-9]|3[01])",
            "(0[1-9]|[12][0-9]|30)",
            "(0[1-9]|1[0-9]|2[0-9])",
        )
        month_day = f"((0[13578]|1[02]){dash}{day31}|(0[469]|11){dash}{day30}|02{dash}{day29})"
        time = f"([01][0-9]|2[0-3])({colon}[0-5][0-9]({colon}[0-5][0-9]([.,][0-9]{{1,6}})?)?)?"
        zone = f"(Z|[+-]([01][0-9]|2[0-3])({colon}[0-5][0-9])?)"
        return f"(19|2[01])[0-9]{{2}}{dash}{month_day}({separators}{time}{zone}?)?"

    return f"^({form('-', ':', '[T ]')}|{form('', '', 'T')})$"


ISO_DATE_OR_DATETIME_REGEX = _iso_date_or_datetime_regex()
ISO_DATE_REGEX = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_ISO_DATE_OR_DATETIME = re.compile(ISO_DATE_OR_DATETIME_REGEX)


def _text_matching(pattern: re.Pattern[str], form: str) -> Any:
    # Pydantic's lax mode reads a number as a Unix time (`?until=0` is 1970-01-01); a query
    # parameter documented as an ISO date or time must be one.
    def check(value: Any) -> Any:
        if isinstance(value, str) and pattern.fullmatch(value):
            return value
        raise ValueError(f"expected {form}")

    return check


# Query parameters that are a day, or a moment, written in ISO 8601 (nothing else).
IsoDate = Annotated[
    date,
    BeforeValidator(_text_matching(re.compile(ISO_DATE_REGEX), "a date as YYYY-MM-DD")),
    Field(json_schema_extra={"pattern": ISO_DATE_REGEX}),
]
IsoDateTime = Annotated[
    datetime,
    BeforeValidator(_text_matching(_ISO_DATE_OR_DATETIME, "an ISO 8601 date or time")),
    Field(json_schema_extra={"pattern": ISO_DATE_OR_DATETIME_REGEX}),
]


def _in_bank_zone(naive_zone: timezone) -> Any:
    def convert(value: datetime) -> datetime:
        aware = value if value.tzinfo is not None else value.replace(tzinfo=naive_zone)
        return aware.astimezone(BANK_TIMEZONE)

    return AfterValidator(convert)


# A time the pipeline stamped (naive means UTC), served at +08:00.
PipelineTimestamp = Annotated[datetime, _in_bank_zone(UTC)]
# A time from a source system or a mart built on them (naive means China time), at +08:00.
SourceTimestamp = Annotated[datetime, _in_bank_zone(BANK_TIMEZONE)]


def _extra_times_in_bank_zone(model: BaseModel) -> BaseModel:
    """Columns passed through unknown (`extra="allow"`) are served by the same rules: a
    timestamp at +08:00 (naive read as China time, as every mart column is), a date as a date."""
    extra = model.__pydantic_extra__
    if extra:
        for name, value in extra.items():
            if isinstance(value, datetime):
                aware = value if value.tzinfo is not None else value.replace(tzinfo=BANK_TIMEZONE)
                extra[name] = aware.astimezone(BANK_TIMEZONE)
    return model


def _split_systems(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


MAX_OFFSET = 1_000_000_000


# --- requests ------------------------------------------------------------------------------


def _one_lookup_key(schema: dict[str, Any]) -> None:
    """The "exactly one key" rule, in the document: `oneOf` of the three `required`s. A key is
    a string when present (never null), so a generated body cannot satisfy two branches."""
    schema["oneOf"] = [{"required": [key]} for key in LOOKUP_KEYS]
    for key in LOOKUP_KEYS:
        schema["properties"][key].pop("default", None)


class GoldenRecordQuery(BaseModel):
    """Find golden records by exactly one key; values are normalized before the lookup."""

    # Strict: `"offset": false` is no number, though pydantic's lax mode would read it as 0.
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_one_lookup_key)

    # `SkipJsonSchema[None]`: absent is the only way not to give a key; an explicit null is a
    # 422 (`_not_null`), as the document says.
    resident_id: str | SkipJsonSchema[None] = Field(
        default=None,
        description="Resident ID; spaces, dashes, a lower-case x and 15 digits are accepted",
        examples=["130102 19850307 123x"],
    )
    mobile: str | SkipJsonSchema[None] = Field(
        default=None,
        description="Mainland mobile (`+86`, spaces and dashes accepted) or a Hong Kong / Macao"
        " mobile written with its country code (`+852 9123 4567`, `+853 6612 3456`)",
        examples=["+86 138-0013-8000"],
    )
    name: str | SkipJsonSchema[None] = Field(
        default=None,
        description="Exact name (`张伟`) or its pinyin (`zhang wei`)",
        examples=["张伟"],
    )

    @field_validator(*LOOKUP_KEYS, mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("leave the key out instead of sending null")
        return value

    include_retired: bool = Field(
        default=False, description="Also return retired golden records (merged away)"
    )
    limit: int = Field(default=20, ge=1, le=100, description="Page size")
    # Bounded: DuckDB takes a 64-bit OFFSET, and no lookup has a billion matches.
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET, description="Rows to skip")


# --- responses -----------------------------------------------------------------------------


class ValidationIssue(BaseModel):
    """One reason a request was rejected: where (`["query", "as_of"]`) and why. The rejected
    value is never echoed: it can be personal data."""

    loc: list[str | int] = Field(examples=[["query", "as_of"]])
    msg: str = Field(examples=["String should match pattern '^[0-9]{4}-?…'"])
    type: str = Field(examples=["string_pattern_mismatch"])


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (`application/problem+json`)."""

    type: str = Field(
        default="about:blank",
        description="A URI naming the problem type; `about:blank`: the status says it all",
    )
    title: str = Field(description="The status's phrase", examples=["Not Found"])
    status: int = Field(ge=400, le=599, examples=[404])
    detail: str | None = Field(
        default=None,
        description="What went wrong with this request, for a person to read",
        examples=["golden record G0000000099 not found"],
    )
    instance: str | None = Field(
        default=None,
        description="The path the request was made to",
        examples=["/golden-records/G0000000099"],
    )
    errors: list[ValidationIssue] | None = Field(
        default=None, description="422 only: every parameter that failed, and why"
    )


# The name routers used before problem details; the body is a problem now.
ErrorOut = Problem


class HealthOut(BaseModel):
    """Anonymous, so it says no more than whether the API can answer and from what data:
    nothing about the server's files (the reason for a 503 goes to the server's log)."""

    status: Literal["ok", "unavailable"]
    published_at: PipelineTimestamp | None = Field(
        default=None, description="When the snapshot was published (the file's mtime)"
    )
    golden_record_count: int | None = None
    active_golden_record_count: int | None = None


class GoldenRecordSummary(BaseModel):
    """A golden record as it appears in lookup results."""

    golden_id: str = Field(examples=[GOLDEN_ID_EXAMPLE])
    status: str = Field(description="`active` or `retired`", examples=["active"])
    survivor_id: str | None = Field(
        default=None, description="For a retired record: the golden record it was merged into"
    )
    survivor_url: str | None = Field(
        default=None, description="For a retired record: where the survivor is (like `Location`)"
    )
    name: str | None = None
    name_pinyin: str | None = None
    id_type: str | None = None
    id_number: str | None = Field(
        default=None, description="Masked", examples=["130102********123X"]
    )
    birth_date: date | None = None
    gender: str | None = None
    mobile: str | None = Field(default=None, description="Masked", examples=["138****8000"])
    email: str | None = None
    address: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    adcode: str | None = None
    source_count: int | None = None
    source_systems: list[str] = Field(default_factory=list, examples=[["core", "crm"]])
    created_at: PipelineTimestamp | None = None
    updated_at: PipelineTimestamp | None = None

    split_source_systems = field_validator("source_systems", mode="before")(_split_systems)


class SourceRecordOut(BaseModel):
    """A source system's party record linked to the golden record (xref + party record)."""

    record_key: str = Field(examples=["core:C000000001"])
    source_system: str
    source_record_id: str
    match_rule: str | None = None
    match_weight: float | None = None
    linked_at: PipelineTimestamp | None = None
    source_updated_at: SourceTimestamp | None = None
    batch_id: str | None = None
    name_raw: str | None = None
    name: str | None = None
    name_pinyin: str | None = None
    name_script: str | None = None
    id_type: str | None = None
    id_number: str | None = Field(default=None, description="Masked")
    id_valid: bool | None = None
    id_issue: str | None = None
    birth_date: date | None = None
    gender: str | None = None
    mobile: str | None = Field(default=None, description="Masked")
    phone_other: str | None = Field(default=None, description="Masked")
    email: str | None = None
    address_raw: str | None = None
    address: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    adcode: str | None = None
    source_trust: int | None = None


class GoldenRecordOut(GoldenRecordSummary):
    """A golden record with its source records."""

    current_golden_id: str | None = Field(
        default=None,
        description="The active record this ID now stands for: itself when active, the end of"
        " the survivor chain when retired, null if that chain is broken",
    )
    sources: list[SourceRecordOut] = Field(default_factory=list)


class GoldenRecordPage(BaseModel):
    total: int = Field(description="Matches in all pages")
    limit: int
    offset: int
    items: list[GoldenRecordSummary]


class Customer360Out(BaseModel):
    """One row of `marts.customer_360`. Typed where the column is known; columns added to the
    mart later are passed through as they are."""

    model_config = ConfigDict(extra="allow")

    golden_id: str = Field(examples=[GOLDEN_ID_EXAMPLE])
    name: str | None = None
    gender: str | None = None
    birth_date: date | None = None
    id_number: str | None = Field(default=None, description="Masked")
    mobile: str | None = Field(default=None, description="Masked")
    address: str | None = None
    city: str | None = None
    district: str | None = None
    source_count: int | None = None
    source_systems: list[str] | None = None
    demand_balance: float | None = None
    time_deposit_balance: float | None = None
    wealth_balance: float | None = None
    total_aum: float | None = None
    nearest_maturity_date: date | None = None
    account_count: int | None = None
    loan_count: int | None = None
    loan_outstanding: float | None = None
    worst_loan_class: str | None = None
    relationship_manager_id: str | None = None
    branch_no: str | None = None
    tickets_last_90d: int | None = None
    open_complaints: int | None = None
    last_contact_at: SourceTimestamp | None = None
    avg_csat: float | None = None
    value_tier: str | None = None

    split_source_systems = field_validator("source_systems", mode="before")(_split_systems)
    extra_times_in_bank_zone = model_validator(mode="after")(_extra_times_in_bank_zone)


# --- the 360's detail: /customers/{id}/accounts|loans|tickets|household ----------------------
# Every field but the golden ID is optional: the access policy leaves out what a role may not
# see, and the routes serve only the fields a row carries (response_model_exclude_unset).


class CustomerAccountOut(BaseModel):
    """One account of `marts.customer_accounts`."""

    golden_id: str = Field(examples=[GOLDEN_ID_EXAMPLE])
    source_system: str | None = None
    account_no: str | None = Field(
        default=None, description="Masked (first 6 and last 4 digits) unless the role may see it"
    )
    account_type: str | None = Field(default=None, description="DEMAND, TIME, WEALTH or other")
    product_code: str | None = None
    currency: str | None = None
    balance: float | None = Field(default=None, description="In the account's currency")
    balance_cny: float | None = None
    opened_on: date | None = None
    maturity_date: date | None = None
    account_status: str | None = Field(default=None, description="ACTIVE, CLOSED or other")
    is_active: bool | None = Field(default=None, description="Counted in the 360's balances")
    branch_no: str | None = None
    as_of_date: date | None = None


class CustomerLoanOut(BaseModel):
    """One loan of `marts.customer_loans`."""

    golden_id: str = Field(examples=[GOLDEN_ID_EXAMPLE])
    source_system: str | None = None
    loan_id: str | None = None
    application_id: str | None = None
    principal: float | None = None
    outstanding: float | None = None
    interest_rate: float | None = Field(default=None, description="Annual, as a fraction")
    start_date: date | None = None
    end_date: date | None = None
    five_tier_class: str | None = Field(default=None, description="正常, 关注, 次级, 可疑, 损失")
    five_tier_rank: int | None = Field(default=None, description="1 (正常) … 5 (损失)")
    loan_status: str | None = Field(default=None, description="repaid, overdue or current")
    branch_no: str | None = None
    as_of_date: date | None = None


class CustomerTicketOut(BaseModel):
    """One service ticket of `marts.customer_tickets`."""

    golden_id: str = Field(examples=[GOLDEN_ID_EXAMPLE])
    source_system: str | None = None
    ticket_id: str | None = None
    channel: str | None = None
    category: str | None = None
    ticket_status: str | None = None
    is_complaint: bool | None = None
    is_resolved: bool | None = None
    created_at: SourceTimestamp | None = None
    first_response_at: SourceTimestamp | None = None
    resolved_at: SourceTimestamp | None = None
    first_response_minutes: float | None = None
    resolution_minutes: float | None = None
    sla_outcome: str | None = Field(default=None, description="met, breached or pending")
    csat: int | None = Field(default=None, description="1-5")
    relationship_manager_id: str | None = None
    branch_no: str | None = None
    as_of_date: date | None = None


class HouseholdMemberOut(BaseModel):
    """Another member of the customer's household (`marts.customer_households`)."""

    golden_id: str = Field(examples=[GOLDEN_ID_EXAMPLE])
    member_golden_id: str | None = None
    household_key: str | None = None
    household_size: int | None = None
    link_reason: str | None = Field(
        default=None, description="address_and_mobile, address, mobile or indirect"
    )


class CustomerAccountPage(BaseModel):
    total: int = Field(description="Rows in all pages")
    limit: int
    offset: int
    items: list[CustomerAccountOut]


class CustomerLoanPage(BaseModel):
    total: int = Field(description="Rows in all pages")
    limit: int
    offset: int
    items: list[CustomerLoanOut]


class CustomerTicketPage(BaseModel):
    total: int = Field(description="Rows in all pages")
    limit: int
    offset: int
    items: list[CustomerTicketOut]


class HouseholdPage(BaseModel):
    total: int = Field(description="Members in all pages (of the caller's branch when held to one)")
    limit: int
    offset: int
    items: list[HouseholdMemberOut]


class LineageOut(BaseModel):
    """Where one golden attribute came from: the winning source record and the rule."""

    attribute: str
    record_key: str
    source_system: str | None = None
    rule: str = Field(examples=["source_priority", "valid_over_invalid", "most_recent"])


class GoldenVersionOut(BaseModel):
    """One version of a golden record; `valid_to` is null for the current one."""

    model_config = ConfigDict(extra="allow")

    golden_id: str
    valid_from: PipelineTimestamp
    valid_to: PipelineTimestamp | None = None
    run_id: str | None = None
    status: str | None = None
    name: str | None = None
    id_number: str | None = Field(default=None, description="Masked")
    # A date, as in the golden record (the history table can hold it as a midnight timestamp).
    birth_date: date | None = None
    mobile: str | None = Field(default=None, description="Masked")
    address: str | None = None
    source_systems: list[str] = Field(default_factory=list)

    split_source_systems = field_validator("source_systems", mode="before")(_split_systems)
    extra_times_in_bank_zone = model_validator(mode="after")(_extra_times_in_bank_zone)


class GoldenEventOut(BaseModel):
    event_id: str
    run_id: str
    event_type: Literal["create", "update", "merge", "split", "retire"]
    golden_id: str
    related_golden_id: str | None = None
    detail: str | None = None
    occurred_at: PipelineTimestamp
    decision_id: int | None = Field(
        default=None, description="The steward decision the event applied; null for matching's"
    )
    steward: str | None = Field(default=None, description="Who made that decision")
    changed_fields: list[str] | None = Field(
        default=None, description="An update's changed golden columns (names only)"
    )

    split_changed_fields = field_validator("changed_fields", mode="before")(_split_systems)


class ChangeOut(BaseModel):
    """One golden event of the change feed: IDs and field names, never a personal value (a
    consumer re-reads the golden record, under its own role's masking)."""

    seq: int = Field(description="The event's place in the feed: pass as `after` to go on")
    event_id: str = Field(description="Stable: the same on every delivery, for de-duplication")
    event_type: Literal["create", "update", "merge", "split", "retire"]
    golden_id: str
    related_golden_id: str | None = Field(
        default=None, description="A merge's retired ID, a split's origin"
    )
    changed_fields: list[str] = Field(
        default_factory=list, description="An update's changed golden columns (names only)"
    )
    decision_id: int | None = Field(default=None, description="The steward decision applied")
    steward: str | None = Field(default=None, description="Who made that decision")
    occurred_at: PipelineTimestamp
    run_id: str | None = Field(default=None, description="The run or quick apply that wrote it")


class ChangePage(BaseModel):
    items: list[ChangeOut]
    next_cursor: int = Field(
        description="Pass as `after` for the next page (the cursor given, when no event is newer)"
    )
    last_seq: int = Field(description="The feed's newest event when this page was read")


class SourceRecordLinkOut(BaseModel):
    """A source record's golden ID: the one it was linked to, and where merges lead now."""

    record_key: str
    source_system: str
    source_record_id: str
    golden_id: str
    current_golden_id: str | None
    match_rule: str | None = None
    match_weight: float | None = None
    linked_at: PipelineTimestamp | None = None


# --- POST /match ---------------------------------------------------------------------------


class MatchQuery(BaseModel):
    """A prospective customer in canonical fields (docs/CONTRACTS.md §3), as a clerk types
    them: standardized by the pipeline's own code before it is matched."""

    # Strict and closed: a misspelt field or a number where text belongs is a 422 naming it.
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = Field(default=None, max_length=100, examples=["张伟"])
    name_latin: str | None = Field(
        default=None, max_length=100, description="A latin name (a card's embossed name)"
    )
    id_type: (
        Literal[
            "resident_id",
            "passport",
            "hk_macao_permit",
            "taiwan_permit",
            "hmt_residence_permit",
            "foreign_permanent_residence",
            "other",
        ]
        | None
    ) = Field(default=None, description="Without it, the number's shape decides")
    id_number: str | None = Field(default=None, max_length=40, examples=["130102 19850307 123x"])
    gender: Literal["M", "F"] | None = None
    birth_date: date | None = Field(default=None, examples=["1985-03-07"])
    mobile: str | None = Field(default=None, max_length=40, examples=["+86 138-0013-8000"])
    phone: str | None = Field(default=None, max_length=40, description="Another phone number")
    email: str | None = Field(default=None, max_length=200)
    address: str | None = Field(
        default=None, max_length=300, examples=["河北石家庄长安区中山东路1号"]
    )
    limit: int = Field(default=10, ge=1, le=50, description="Golden candidates returned at most")

    # JSON has no date type: a date arrives as text even in strict mode.
    @field_validator("birth_date", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise ValueError("not an ISO date (YYYY-MM-DD)") from None
        return value


class MatchStepOut(BaseModel):
    """One step of the match weight: the prior or one comparison at its level."""

    step: str = Field(examples=["name"])
    level: str = Field(examples=["exact"])
    bits: float = Field(description="log2 Bayes factor this step adds")
    start: float
    end: float = Field(description="running match weight after this step")


class MatchedRecordOut(BaseModel):
    """One source record of the golden candidate, scored against the prospect."""

    record_key: str = Field(examples=["core:C000000001"])
    match_probability: float
    match_weight: float
    zone: Literal["auto_match", "review", "non_match"]
    deterministic_rule: str | None = None


class MatchCandidateOut(BaseModel):
    """A golden record the prospect may be: its best-scoring source record decides."""

    golden_id: str = Field(examples=[GOLDEN_ID_EXAMPLE])
    match_probability: float
    match_weight: float
    zone: Literal["auto_match", "review", "non_match"]
    deterministic_rule: str | None = Field(
        default=None, description="The rule that decided the best pair, if one did"
    )
    record_key: str = Field(description="The best-scoring source record")
    explanation: list[MatchStepOut] = Field(
        description="The best pair's match weight, step by step (the steward page's waterfall)"
    )
    records: list[MatchedRecordOut] = Field(
        description="Every source record of this golden record that blocking found, best first"
    )
    golden_record: GoldenRecordSummary


class MatchOut(BaseModel):
    """Golden candidates for the prospect, most probable first; nothing is written."""

    records_compared: int = Field(description="Source records the candidate was scored against")
    candidates: list[MatchCandidateOut]


# --- POST /records -------------------------------------------------------------------------


class RecordIn(BaseModel):
    """One source record as its system holds it: the columns its `sources:` entry in mdm.yaml
    maps (the key column included), by the source's own names and codes."""

    model_config = ConfigDict(extra="forbid")

    source_system: str = Field(
        min_length=1, max_length=64, description="A source of mdm.yaml", examples=["crm"]
    )
    record: dict[str, str | int | float | None] = Field(
        description="Column → value, as the source system stores it; the columns its mapping"
        " reads, and its key column",
        max_length=200,
    )


class RecordEventOut(BaseModel):
    event_type: str
    golden_id: str


class RecordOut(BaseModel):
    """What became of the record: `joined` a golden record with others (auto-match zone),
    `created` a golden record of its own, `review` (alone, with a pair a steward is asked
    about), `updated` (alone in the golden record it had), `unchanged` (the same content as
    its last post: nothing written)."""

    record_key: str
    outcome: Literal["joined", "created", "review", "updated", "unchanged"]
    golden_id: str | None
    review_golden_ids: list[str] = Field(
        description="Golden records a steward is asked whether this record belongs to"
    )
    events: list[RecordEventOut] = Field(description="The golden events this write logged")
    records_reclustered: int
    write_id: str = Field(description="The ID the write held the home's lock under")


class RecordReceiptOut(BaseModel):
    """A post queued while a batch run held the warehouse (`POST /records` answered 202), and
    what became of it: `queued` (waiting for the run to end), `applied` (`result` is what the
    direct answer would have been), `failed` (`reason` names the rule or field, never a value)
    or `superseded` (a later post of the same record won; `superseded_by` names it)."""

    receipt_id: str
    status: Literal["queued", "applied", "failed", "superseded"]
    source_system: str
    record_key: str
    posted_at: PipelineTimestamp = Field(description="When it was posted")
    queued_behind: str | None = Field(
        description="The ID of the run that held the warehouse when it was queued"
    )
    result: RecordOut | None = Field(description="When applied: the write's outcome")
    reason: str | None = Field(description="When failed: why (no personal data)")
    superseded_by: str | None = Field(
        description="When superseded: the receipt (or write ID) of the later post that won"
    )
    finished_at: PipelineTimestamp | None = Field(
        description="When it was applied, failed or superseded"
    )

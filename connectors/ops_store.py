"""The ops store: steward decisions and the audit log, in SQLite (default) or PostgreSQL.

Decisions are never deleted: each has who, when and why, and only its `status` moves (pending →
active or rejected; pending or active → revoked), each move appended to `decision_events` with
who, when and why. Two open (pending or active) decisions about the same subject cannot coexist —
a unique index enforces it, so of two stewards deciding the same pair at once the second gets a
conflict instead of silently overwriting the first. A risky decision (`risk_reasons`) is stored
pending and constrains nothing until a different steward approves it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.urls import sqlalchemy_url
from matching.golden import SurvivorshipConfig
from matching.stewardship import (
    DECISION_TYPES,
    OPEN_STATUSES,
    STEWARD_MAX_LENGTH,
    Constraints,
    check_references,
    constraints_from_decisions,
    current_golden_ids,
    find_contradiction,
    merge_members_json,
    ordered_pair,
    resolve_golden_id,
    risk_reasons,
    subject_key,
    survivor_map,
)

metadata = sa.MetaData()

steward_decisions = sa.Table(
    "steward_decisions",
    metadata,
    sa.Column("decision_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("decision_type", sa.String(16), nullable=False),
    sa.Column("subject_key", sa.String(400), nullable=False),
    sa.Column("record_key_l", sa.String(200)),
    sa.Column("record_key_r", sa.String(200)),
    sa.Column("golden_id", sa.String(20)),
    sa.Column("related_golden_id", sa.String(20)),
    sa.Column("steward", sa.String(100), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("decided_at", sa.DateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    # Why the decision waited for a second steward (matching.stewardship.RISK_*; no values).
    sa.Column("risk_reason", sa.Text),
    # A merge's records when it was decided (JSON list of record keys): it keeps them all
    # together, not only the two it names (matching.stewardship.MERGE_MEMBERS).
    sa.Column("member_keys", sa.Text),
)
_OPEN = "status in ('pending', 'active')"
open_subject_index = sa.Index(
    "ux_steward_decisions_open_subject",
    steward_decisions.c.subject_key,
    unique=True,
    sqlite_where=sa.text(_OPEN),
    postgresql_where=sa.text(_OPEN),
)
# Before pending decisions existed only active ones held a subject (dropped on upgrade).
_OLD_SUBJECT_INDEX = "ux_steward_decisions_active_subject"

decision_events = sa.Table(
    "decision_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("decision_id", sa.Integer, nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False),  # matching.stewardship.DECISION_ACTIONS
    sa.Column("steward", sa.String(STEWARD_MAX_LENGTH), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("occurred_at", sa.DateTime, nullable=False),
    sa.Column("status_before", sa.String(16)),  # NULL for `created`
    sa.Column("status_after", sa.String(16), nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("audit_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("occurred_at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(50), nullable=False),
    sa.Column("target", sa.String(400)),
    sa.Column("detail", sa.Text),
)


class DecisionConflictError(RuntimeError):
    """Another open (pending or active) decision already covers this subject."""


class DecisionContradictionError(ValueError):
    """The decision contradicts other active decisions (e.g. same-chain across a different)."""


class DecisionInvalidError(ValueError):
    """The decision is malformed or names what is not there: unknown type, missing or unknown
    keys, a golden ID the record is not in, a retired golden ID, an empty steward or reason,
    a steward approving their own decision."""


class DecisionStateError(ValueError):
    """The decision is not in a state that allows this (approving an active one, revoking a
    revoked one)."""


class DecisionNotFoundError(LookupError):
    """No decision has this ID."""


@dataclass(frozen=True)
class Decision:
    decision_type: str
    steward: str  # the principal's subject (console) or cli:<name> (matching.cli_steward)
    reason: str
    record_key_l: str | None = None
    record_key_r: str | None = None
    golden_id: str | None = None
    related_golden_id: str | None = None


@dataclass(frozen=True)
class StoredDecision:
    """A decision as stored, with its current status and why it waited (if it did)."""

    decision_id: int
    decision_type: str
    subject_key: str
    record_key_l: str | None
    record_key_r: str | None
    golden_id: str | None
    related_golden_id: str | None
    steward: str
    reason: str
    decided_at: datetime
    status: str
    risk_reason: str | None
    member_keys: str | None = None  # a merge's records (JSON), see steward_decisions


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class OpsStore:
    """Access to the ops store through SQLAlchemy; tables are created (and upgraded) on first
    use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_ops_engine(url)
        metadata.create_all(self.engine)
        _upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    def decisions(self, *, after_id: int = 0) -> pd.DataFrame:
        with self.engine.connect() as connection:
            return _decisions_on(connection, after_id)

    def decision(self, decision_id: int) -> StoredDecision:
        """One decision; DecisionNotFoundError when no decision has this ID."""
        with self.engine.connect() as connection:
            return _decision_on(connection, decision_id)

    @contextmanager
    def _decision_writes(self) -> Iterator[sa.Connection]:
        """A transaction that holds the decisions' write lock from its first statement.

        A decision is checked against all the others (conflict, contradiction) and then
        written; two stewards checking at once would each pass against a table without the
        other's decision, and two decisions contradictory only together would both stand.
        Under this lock the second one waits, then checks against the first.
        """
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    sa.text("select pg_advisory_xact_lock(:key)"), {"key": DECISIONS_LOCK_KEY}
                )
            else:
                # SQLite: a write statement takes the database's write lock for the rest of
                # the transaction (waiting up to busy_timeout), even when it changes no row.
                connection.execute(
                    sa.update(steward_decisions)
                    .where(steward_decisions.c.decision_id < 0)
                    .values(status=steward_decisions.c.status)
                )
            yield connection

    def history(self, decision_id: int | None = None) -> pd.DataFrame:
        """What happened to a decision (or to every one), oldest first: who, when, why."""
        query = sa.select(decision_events).order_by(decision_events.c.event_id)
        if decision_id is not None:
            self.decision(decision_id)  # a missing decision is an error, not an empty history
            query = query.where(decision_events.c.decision_id == decision_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        columns = [c.name for c in decision_events.columns]
        return pd.DataFrame([dict(r) for r in rows], columns=columns)

    def latest_decision_id(self) -> int:
        with self.engine.connect() as connection:
            value = connection.execute(
                sa.select(sa.func.max(steward_decisions.c.decision_id))
            ).scalar()
        return int(value or 0)

    def latest_change_id(self) -> int:
        """The last event that changed which decisions constrain matching (one made active,
        approved, or an active one revoked); a run applying decisions is due when it grows.
        Pending, rejected and withdrawn pending decisions change nothing to apply."""
        changes = decision_events.c
        applies = sa.or_(
            changes.status_after == "active",
            sa.and_(changes.action == "revoked", changes.status_before == "active"),
        )
        with self.engine.connect() as connection:
            value = connection.execute(sa.select(sa.func.max(changes.event_id)).where(applies))
            latest = value.scalar()
        return int(latest or 0)

    def record_decision(
        self,
        decision: Decision,
        *,
        xref: pd.DataFrame | None = None,
        golden: pd.DataFrame | None = None,
        records: pd.DataFrame | None = None,
        survivorship: SurvivorshipConfig | None = None,
        now: Callable[[], datetime] = _utc_now,
    ) -> int:
        """Store a decision after checking it; returns its id (`decision(id).status` says
        whether it is active or waits, pending, for a second steward).

        Refused with a message naming what is wrong when it is malformed, when its record keys
        or golden IDs are not in the current cross-reference (`xref`, `golden` from the
        warehouse), when an open decision already covers the same subject (a conflict), or
        when it contradicts the active decisions. With `xref`, `records` (the party records)
        are needed too: they tell whether the decision is risky (`risk_reasons`). Without
        `xref` (no run yet) nothing can be checked against the data or judged risky.
        """
        values = _validated(decision)
        fields = {
            "record_key_l": decision.record_key_l,
            "record_key_r": decision.record_key_r,
            "golden_id": decision.golden_id,
            "related_golden_id": decision.related_golden_id,
        }
        risks: tuple[str, ...] = ()
        if xref is not None:
            if records is None:
                raise DecisionInvalidError(
                    "checking a decision against the cross-reference needs the party records "
                    "too (they tell whether it is risky)"
                )
            try:
                check_references(decision.decision_type, xref=xref, golden=golden, **fields)
            except ValueError as error:
                raise DecisionInvalidError(str(error)) from error
            risks = risk_reasons(
                decision.decision_type,
                xref=xref,
                golden=golden,
                records=records,
                survivorship=survivorship,
                **fields,
            )
        if decision.decision_type == "merge":
            values.update(_merge_representatives(decision, xref, golden))
        status = "pending" if risks else "active"
        try:
            with self._decision_writes() as connection:
                existing = _decisions_on(connection)
                self._refuse_conflict(existing, str(values["subject_key"]))
                candidate = pd.concat(
                    [existing, pd.DataFrame([{**values, "decision_id": -1, "status": "active"}])],
                    ignore_index=True,
                )
                _refuse_contradiction(candidate, xref, golden)
                values.update(
                    decided_at=now(),
                    status=status,
                    risk_reason="; ".join(risks) if risks else None,
                )
                result = connection.execute(sa.insert(steward_decisions).values(**values))
                inserted = result.inserted_primary_key
                assert inserted is not None  # an insert into a table with a primary key
                decision_id = int(inserted[0])
                _append_event(
                    connection,
                    decision_id,
                    "created",
                    steward=str(values["steward"]),
                    reason=str(values["reason"]),
                    at=values["decided_at"],  # type: ignore[arg-type]
                    before=None,
                    after=status,
                    audit_action=f"decision.{decision.decision_type}",
                    target=str(values["subject_key"]),
                )
        except sa.exc.IntegrityError as error:
            raise DecisionConflictError(
                f"{values['subject_key']} was decided by someone else a moment ago; reload"
            ) from error
        return decision_id

    def approve(
        self,
        decision_id: int,
        steward: str,
        reason: str,
        *,
        xref: pd.DataFrame | None = None,
        golden: pd.DataFrame | None = None,
        now: Callable[[], datetime] = _utc_now,
    ) -> StoredDecision:
        """A second steward approves a pending decision: it becomes active (a constraint).

        Refused when the approver made the decision, when it is not pending, when what it names
        no longer holds in the last run (`xref`, `golden`), or when the decisions made active
        since it was recorded now contradict it.
        """
        steward, reason = _who_and_why(steward, reason)
        with self._decision_writes() as connection:
            stored = _checked_by_other(connection, decision_id, steward, "approve")
            if xref is not None:
                # A run since it was made may have moved its records: what it names must
                # still hold.
                try:
                    check_references(
                        stored.decision_type,
                        xref=xref,
                        golden=golden,
                        record_key_l=stored.record_key_l,
                        record_key_r=stored.record_key_r,
                        golden_id=stored.golden_id,
                        related_golden_id=stored.related_golden_id,
                    )
                except ValueError as error:
                    raise DecisionInvalidError(
                        f"decision #{decision_id} no longer fits the last run ({error}): reject"
                        " it and decide again"
                    ) from error
            decisions = _decisions_on(connection)
            candidate = decisions.assign(
                status=decisions["status"].where(decisions["decision_id"] != decision_id, "active")
            )
            _refuse_contradiction(candidate, xref, golden, itself=decision_id)
            _move(connection, stored, "approved", "active", steward, reason, now())
        return self.decision(decision_id)

    def reject(
        self,
        decision_id: int,
        steward: str,
        reason: str,
        *,
        now: Callable[[], datetime] = _utc_now,
    ) -> StoredDecision:
        """A second steward rejects a pending decision: it never applies, its subject is free."""
        steward, reason = _who_and_why(steward, reason)
        with self._decision_writes() as connection:
            stored = _checked_by_other(connection, decision_id, steward, "reject")
            _move(connection, stored, "rejected", "rejected", steward, reason, now())
        return self.decision(decision_id)

    def revoke(
        self,
        decision_id: int,
        steward: str,
        reason: str,
        *,
        now: Callable[[], datetime] = _utc_now,
    ) -> StoredDecision:
        """Withdraw a pending or active decision: it stops constraining matching from the next
        run and its subject is free for a new decision. The row stays, marked revoked."""
        steward, reason = _who_and_why(steward, reason)
        with self._decision_writes() as connection:
            stored = _decision_on(connection, decision_id)
            if stored.status not in OPEN_STATUSES:
                raise DecisionStateError(
                    f"decision #{decision_id} is {stored.status}: only a pending or active "
                    "decision can be revoked"
                )
            _move(connection, stored, "revoked", "revoked", steward, reason, now())
        return self.decision(decision_id)

    @staticmethod
    def _refuse_conflict(existing: pd.DataFrame, subject: str) -> None:
        if existing.empty:
            return
        clash = existing[
            existing["status"].isin(OPEN_STATUSES) & (existing["subject_key"] == subject)
        ]
        if len(clash):
            first = clash.iloc[0]
            waiting = " (pending approval)" if first["status"] == "pending" else ""
            raise DecisionConflictError(
                f"{subject} was already decided '{first['decision_type']}'{waiting} by "
                f"{first['steward']} at {first['decided_at']} (decision #{first['decision_id']});"
                " revoke it first to decide again"
            )

    def audit(self, actor: str, action: str, target: str | None, detail: str | None) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                sa.insert(audit_log).values(
                    occurred_at=_utc_now(),
                    actor=actor,
                    action=action,
                    target=target,
                    detail=detail,
                )
            )


#: pg_advisory_xact_lock's key for the decisions' write lock (any constant this store owns).
DECISIONS_LOCK_KEY = 0x6D646D01


def _decisions_on(connection: sa.Connection, after_id: int = 0) -> pd.DataFrame:
    query = (
        sa.select(steward_decisions)
        .where(steward_decisions.c.decision_id > after_id)
        .order_by(steward_decisions.c.decision_id)
    )
    rows = connection.execute(query).mappings().all()
    columns = [c.name for c in steward_decisions.columns]
    return pd.DataFrame([dict(r) for r in rows], columns=columns)


def _decision_on(connection: sa.Connection, decision_id: int) -> StoredDecision:
    row = (
        connection.execute(
            sa.select(steward_decisions).where(steward_decisions.c.decision_id == decision_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise DecisionNotFoundError(f"no decision #{decision_id}")
    return StoredDecision(**dict(row))


def _checked_by_other(
    connection: sa.Connection, decision_id: int, steward: str, verb: str
) -> StoredDecision:
    stored = _decision_on(connection, decision_id)
    if stored.status != "pending":
        raise DecisionStateError(
            f"decision #{decision_id} is {stored.status}: only a pending decision can be {verb}d"
        )
    if steward == stored.steward:
        raise DecisionInvalidError(
            f"decision #{decision_id} was made by {stored.steward}: a different steward "
            f"must {verb} it"
        )
    return stored


def _move(
    connection: sa.Connection,
    stored: StoredDecision,
    action: str,
    status: str,
    steward: str,
    reason: str,
    at: datetime,
) -> None:
    # Guarded by the status read as well as the lock: a writer that skips the lock (an older
    # version of this store) still cannot move a decision twice.
    moved = connection.execute(
        sa.update(steward_decisions)
        .where(
            (steward_decisions.c.decision_id == stored.decision_id)
            & (steward_decisions.c.status == stored.status)
        )
        .values(status=status)
    ).rowcount
    if moved != 1:
        raise DecisionConflictError(
            f"decision #{stored.decision_id} was changed by someone else a moment ago; reload"
        )
    _append_event(
        connection,
        stored.decision_id,
        action,
        steward=steward,
        reason=reason,
        at=at,
        before=stored.status,
        after=status,
        audit_action=f"decision.{action}",
        target=f"#{stored.decision_id} {stored.subject_key}",
    )


def _refuse_contradiction(
    candidate: pd.DataFrame,
    xref: pd.DataFrame | None,
    golden: pd.DataFrame | None,
    *,
    itself: int = -1,
) -> None:
    constraints: Constraints = constraints_from_decisions(candidate, xref, golden)
    contradiction = find_contradiction(constraints)
    if contradiction is not None:
        left, right, involved = contradiction
        others = [f"#{i}" for i in involved if i != itself]
        raise DecisionContradictionError(
            f"refused: together with decision(s) {', '.join(others) or '(none)'} this would "
            f"put {left} and {right} in one golden record, which a decision forbids"
        )


def _append_event(
    connection: sa.Connection,
    decision_id: int,
    action: str,
    *,
    steward: str,
    reason: str,
    at: datetime,
    before: str | None,
    after: str,
    audit_action: str,
    target: str,
) -> None:
    connection.execute(
        sa.insert(decision_events).values(
            decision_id=decision_id,
            action=action,
            steward=steward,
            reason=reason,
            occurred_at=at,
            status_before=before,
            status_after=after,
        )
    )
    connection.execute(
        sa.insert(audit_log).values(
            occurred_at=at, actor=steward, action=audit_action, target=target, detail=reason
        )
    )


def _who_and_why(steward: str, reason: str) -> tuple[str, str]:
    steward, reason = steward.strip(), reason.strip()
    if not steward:
        raise DecisionInvalidError("a decision needs the steward who made it")
    if len(steward) > STEWARD_MAX_LENGTH:
        raise DecisionInvalidError(f"a steward's identity is at most {STEWARD_MAX_LENGTH} long")
    if not reason:
        raise DecisionInvalidError("a decision needs a reason")
    return steward, reason


def _upgrade(engine: Engine) -> None:
    """Bring an ops store created before decisions could wait or be revoked up to date:
    the risk_reason column, the open-subject index, and a `created` event for every decision
    that has none (so every decision has a history)."""
    inspector = sa.inspect(engine)
    columns = {c["name"] for c in inspector.get_columns("steward_decisions")}
    indexes = {i["name"] for i in inspector.get_indexes("steward_decisions")}
    with engine.begin() as connection:
        for added in ("risk_reason", "member_keys"):
            if added not in columns:
                connection.execute(
                    sa.text(f"alter table steward_decisions add column {added} text")
                )
        if _OLD_SUBJECT_INDEX in indexes:
            connection.execute(sa.text(f"drop index {_OLD_SUBJECT_INDEX}"))
        if open_subject_index.name not in indexes:
            open_subject_index.create(connection, checkfirst=True)
        known = sa.select(decision_events.c.decision_id)
        untracked = sa.select(
            steward_decisions.c.decision_id,
            sa.literal("created"),
            steward_decisions.c.steward,
            steward_decisions.c.reason,
            steward_decisions.c.decided_at,
            sa.null(),
            steward_decisions.c.status,
        ).where(steward_decisions.c.decision_id.not_in(known))
        connection.execute(
            sa.insert(decision_events).from_select(
                [
                    "decision_id",
                    "action",
                    "steward",
                    "reason",
                    "occurred_at",
                    "status_before",
                    "status_after",
                ],
                untracked,
            )
        )


def _validated(decision: Decision) -> dict[str, object]:
    if decision.decision_type not in DECISION_TYPES:
        raise DecisionInvalidError(
            f"unknown decision type {decision.decision_type!r}; expected one of {DECISION_TYPES}"
        )
    steward, reason = _who_and_why(decision.steward, decision.reason)
    try:
        key = subject_key(
            decision.decision_type,
            record_key_l=decision.record_key_l,
            record_key_r=decision.record_key_r,
            golden_id=decision.golden_id,
            related_golden_id=decision.related_golden_id,
        )
    except ValueError as error:
        raise DecisionInvalidError(str(error)) from error
    left, right = decision.record_key_l, decision.record_key_r
    if decision.decision_type in {"same", "different"} and left and right:
        left, right = ordered_pair(left, right)
    return {
        "decision_type": decision.decision_type,
        "subject_key": key,
        "record_key_l": left,
        "record_key_r": right,
        "golden_id": decision.golden_id,
        "related_golden_id": decision.related_golden_id,
        "steward": steward,
        "reason": reason,
    }


def _merge_representatives(
    decision: Decision, xref: pd.DataFrame | None, golden: pd.DataFrame | None
) -> dict[str, str]:
    """A record of each golden record being merged, and all their records, pinned at
    decision time.

    Must-links join them on every later run: after the merge both golden IDs resolve to the
    survivor, so looking members up afresh would no longer find two sides.
    """
    if xref is None or xref.empty:
        raise DecisionInvalidError("a merge needs the current cross-reference (mdm.xref)")
    members = current_golden_ids(xref, golden)
    sides: dict[str, str] = {}
    pinned: list[str] = []
    for side, golden_id in (
        ("record_key_l", decision.golden_id),
        ("record_key_r", decision.related_golden_id),
    ):
        resolved = resolve_golden_id(str(golden_id), survivor_map(golden))
        keys = members.index[members == resolved]
        if len(keys) == 0:
            raise DecisionInvalidError(f"golden record {golden_id} has no source records to merge")
        sides[side] = str(min(keys))
        pinned.extend(str(key) for key in keys)
    if sides["record_key_l"] == sides["record_key_r"] or (
        members[sides["record_key_l"]] == members[sides["record_key_r"]]
    ):
        raise DecisionInvalidError(
            f"{decision.golden_id} and {decision.related_golden_id} are already one golden record"
        )
    return {**sides, "member_keys": merge_members_json(pinned)}


def create_ops_engine(url: str) -> Engine:
    """An engine on the ops store; a SQLite file's folder is made and its pragmas set."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(sqlalchemy_url(url))
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: object, _record: object) -> None:
    # WAL lets the API read while the pipeline or a steward writes.
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("pragma journal_mode=wal")
    cursor.execute("pragma busy_timeout=5000")
    cursor.close()

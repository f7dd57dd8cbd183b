"""The ops store: steward decisions and the audit log, in SQLite (default) or PostgreSQL.

Decisions are appended, never edited: each has who, when and why. Two active decisions about the
same subject cannot coexist — a unique index enforces it, so of two stewards deciding the same
pair at once the second gets a conflict instead of silently overwriting the first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.urls import sqlalchemy_url
from matching.stewardship import (
    DECISION_TYPES,
    Constraints,
    constraints_from_decisions,
    current_golden_ids,
    find_contradiction,
    ordered_pair,
    resolve_golden_id,
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
    sa.Index(
        "ux_steward_decisions_active_subject",
        "subject_key",
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    ),
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
    """Another active decision already covers this subject."""


class DecisionContradictionError(ValueError):
    """The decision contradicts other active decisions (e.g. same-chain across a different)."""


class DecisionInvalidError(ValueError):
    """The decision is malformed: unknown type, missing keys, empty steward or reason."""


@dataclass(frozen=True)
class Decision:
    decision_type: str
    steward: str
    reason: str
    record_key_l: str | None = None
    record_key_r: str | None = None
    golden_id: str | None = None
    related_golden_id: str | None = None


class OpsStore:
    """Access to the ops store through SQLAlchemy; tables are created on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_ops_engine(url)
        metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    def decisions(self, *, after_id: int = 0) -> pd.DataFrame:
        query = (
            sa.select(steward_decisions)
            .where(steward_decisions.c.decision_id > after_id)
            .order_by(steward_decisions.c.decision_id)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        columns = [c.name for c in steward_decisions.columns]
        return pd.DataFrame([dict(r) for r in rows], columns=columns)

    def latest_decision_id(self) -> int:
        with self.engine.connect() as connection:
            value = connection.execute(
                sa.select(sa.func.max(steward_decisions.c.decision_id))
            ).scalar()
        return int(value or 0)

    def record_decision(
        self,
        decision: Decision,
        *,
        xref: pd.DataFrame | None = None,
        golden: pd.DataFrame | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC).replace(tzinfo=None),
    ) -> int:
        """Store a decision after checking it; returns its id.

        Refused with a clear message when it is malformed, when an active decision already
        covers the same subject (a conflict), or when it contradicts the other active decisions
        given the current cross-reference (`xref`, `golden` from the warehouse).
        """
        values = _validated(decision)
        if decision.decision_type == "merge":
            values.update(_merge_representatives(decision, xref, golden))
        existing = self.decisions()
        active = existing[existing["status"] == "active"] if len(existing) else existing
        clash = active[active["subject_key"] == values["subject_key"]] if len(active) else active
        if len(clash):
            first = clash.iloc[0]
            raise DecisionConflictError(
                f"{values['subject_key']} was already decided '{first['decision_type']}' by "
                f"{first['steward']} at {first['decided_at']} (decision #{first['decision_id']})"
            )
        candidate = pd.concat(
            [existing, pd.DataFrame([{**values, "decision_id": -1, "status": "active"}])],
            ignore_index=True,
        )
        constraints: Constraints = constraints_from_decisions(candidate, xref, golden)
        contradiction = find_contradiction(constraints)
        if contradiction is not None:
            left, right, involved = contradiction
            others = [f"#{i}" for i in involved if i != -1]
            raise DecisionContradictionError(
                f"refused: together with decision(s) {', '.join(others) or '(none)'} this would "
                f"put {left} and {right} in one golden record, which a decision forbids"
            )
        values["decided_at"] = now()
        try:
            with self.engine.begin() as connection:
                result = connection.execute(sa.insert(steward_decisions).values(**values))
                inserted = result.inserted_primary_key
                assert inserted is not None  # an insert into a table with a primary key
                decision_id = int(inserted[0])
                connection.execute(
                    sa.insert(audit_log).values(
                        occurred_at=values["decided_at"],
                        actor=decision.steward,
                        action=f"decision.{decision.decision_type}",
                        target=values["subject_key"],
                        detail=decision.reason,
                    )
                )
        except sa.exc.IntegrityError as error:
            raise DecisionConflictError(
                f"{values['subject_key']} was decided by someone else a moment ago; reload"
            ) from error
        return decision_id

    def audit(self, actor: str, action: str, target: str | None, detail: str | None) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                sa.insert(audit_log).values(
                    occurred_at=datetime.now(UTC).replace(tzinfo=None),
                    actor=actor,
                    action=action,
                    target=target,
                    detail=detail,
                )
            )


def _validated(decision: Decision) -> dict[str, object]:
    if decision.decision_type not in DECISION_TYPES:
        raise DecisionInvalidError(
            f"unknown decision type {decision.decision_type!r}; expected one of {DECISION_TYPES}"
        )
    if not decision.steward.strip():
        raise DecisionInvalidError("a decision needs the steward who made it")
    if not decision.reason.strip():
        raise DecisionInvalidError("a decision needs a reason")
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
        "steward": decision.steward.strip(),
        "reason": decision.reason.strip(),
    }


def _merge_representatives(
    decision: Decision, xref: pd.DataFrame | None, golden: pd.DataFrame | None
) -> dict[str, str]:
    """A record of each golden record being merged, pinned at decision time.

    The must-link joins these two records on every later run: after the merge both golden IDs
    resolve to the survivor, so looking members up afresh would no longer find two sides.
    """
    if xref is None or xref.empty:
        raise DecisionInvalidError("a merge needs the current cross-reference (mdm.xref)")
    members = current_golden_ids(xref, golden)
    sides = {}
    for side, golden_id in (
        ("record_key_l", decision.golden_id),
        ("record_key_r", decision.related_golden_id),
    ):
        resolved = resolve_golden_id(str(golden_id), survivor_map(golden))
        keys = members.index[members == resolved]
        if len(keys) == 0:
            raise DecisionInvalidError(f"golden record {golden_id} has no source records to merge")
        sides[side] = str(min(keys))
    if sides["record_key_l"] == sides["record_key_r"] or (
        members[sides["record_key_l"]] == members[sides["record_key_r"]]
    ):
        raise DecisionInvalidError(
            f"{decision.golden_id} and {decision.related_golden_id} are already one golden record"
        )
    return sides


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

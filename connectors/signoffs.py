"""Auditors' sign-offs of pipeline runs, in the ops store (SQLite or PostgreSQL).

A sign-off says that an auditor read a run's quality report and accepted or rejected it, when,
and why. Each auditor has at most one *current* sign-off per run (a unique index holds it,
so two sign-offs sent at once cannot both become current); signing the same run again
supersedes the earlier one, which stays in the table with a pointer to its successor: an
auditor may change their mind, but never silently. Every sign-off is also written to the ops
store's `audit_log` in the same transaction.

The comment is free text and may quote personal data: it is stored, never logged, and no
error message repeats it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol, cast, get_args

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from connectors.ops_store import audit_log, create_ops_engine, metadata

Verdict = Literal["accepted", "rejected"]
VERDICTS: tuple[str, ...] = get_args(Verdict)
CURRENT, SUPERSEDED = "current", "superseded"
COMMENT_MAX_LENGTH = 4000

run_signoffs = sa.Table(
    "run_signoffs",
    metadata,
    sa.Column("signoff_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("auditor", sa.String(200), nullable=False),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("signed_at", sa.DateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default=CURRENT),
    sa.Column("superseded_by", sa.Integer),
    sa.Index("ix_run_signoffs_run", "run_id"),
    sa.Index(
        "ux_run_signoffs_current",
        "run_id",
        "auditor",
        unique=True,
        sqlite_where=sa.text(f"status = '{CURRENT}'"),
        postgresql_where=sa.text(f"status = '{CURRENT}'"),
    ),
)


class SignOffInvalidError(ValueError):
    """The sign-off is malformed: no run, no auditor, an unknown verdict, a rejection
    without a comment, a comment too long."""


class SignOffConflictError(RuntimeError):
    """The same auditor signed the same run at the same moment from elsewhere."""


@dataclass(frozen=True)
class SignOff:
    signoff_id: int
    run_id: str
    auditor: str
    verdict: Verdict
    comment: str
    signed_at: datetime  # naive UTC
    status: str  # current / superseded
    superseded_by: int | None


def _sign_off(row: sa.RowMapping) -> SignOff:
    return SignOff(
        signoff_id=int(row["signoff_id"]),
        run_id=str(row["run_id"]),
        auditor=str(row["auditor"]),
        verdict=row["verdict"],
        comment=str(row["comment"]),
        signed_at=row["signed_at"],
        status=str(row["status"]),
        superseded_by=None if row["superseded_by"] is None else int(row["superseded_by"]),
    )


def _validated(run_id: str, auditor: str, verdict: str, comment: str) -> tuple[str, str, str]:
    run_id, auditor, comment = run_id.strip(), auditor.strip(), comment.strip()
    if not run_id:
        raise SignOffInvalidError("a sign-off needs the run it is about")
    if not auditor:
        raise SignOffInvalidError("a sign-off needs the auditor who gives it")
    if verdict not in VERDICTS:
        raise SignOffInvalidError(
            f"unknown verdict {verdict!r}; expected one of {', '.join(VERDICTS)}"
        )
    if verdict == "rejected" and not comment:
        raise SignOffInvalidError("a rejection needs a comment saying what is wrong")
    if len(comment) > COMMENT_MAX_LENGTH:
        raise SignOffInvalidError(
            f"the comment has {len(comment)} characters; at most {COMMENT_MAX_LENGTH}"
        )
    return run_id, auditor, comment


class SignedRun(Protocol):
    """What a sign-off needs of the run (`quality.runs.RunSummary` is one)."""

    @property
    def run_id(self) -> str: ...

    @property
    def status(self) -> str: ...


def sign_off(url: str, run: SignedRun, auditor: str, verdict: str, comment: str = "") -> SignOff:
    """`SignOffs.sign_run` on the ops store at `url`, opened for this one sign-off (the CLI)."""
    store = SignOffs(url)
    try:
        return store.sign_run(run, auditor, verdict, comment)
    finally:
        store.dispose()


class SignOffs:
    """Sign-offs in the ops store at `url`; the table is created on first use."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_ops_engine(url)
        metadata.create_all(self.engine, tables=[run_signoffs, audit_log])

    def dispose(self) -> None:
        self.engine.dispose()

    def sign(
        self,
        run_id: str,
        auditor: str,
        verdict: str,
        comment: str = "",
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC).replace(tzinfo=None),
    ) -> SignOff:
        """Record the auditor's sign-off of the run, superseding their earlier one; the new
        sign-off. `auditor` is the signed-in subject, never a name typed in a form."""
        run_id, auditor, comment = _validated(run_id, auditor, verdict, comment)
        signed_at = now()
        try:
            with self.engine.begin() as connection:
                earlier = self._current_id(connection, run_id, auditor)
                if earlier is not None:
                    connection.execute(
                        sa.update(run_signoffs)
                        .where(run_signoffs.c.signoff_id == earlier)
                        .values(status=SUPERSEDED)
                    )
                inserted = connection.execute(
                    sa.insert(run_signoffs).values(
                        run_id=run_id,
                        auditor=auditor,
                        verdict=verdict,
                        comment=comment,
                        signed_at=signed_at,
                        status=CURRENT,
                    )
                ).inserted_primary_key
                assert inserted is not None  # an insert into a table with a primary key
                signoff_id = int(inserted[0])
                if earlier is not None:
                    connection.execute(
                        sa.update(run_signoffs)
                        .where(run_signoffs.c.signoff_id == earlier)
                        .values(superseded_by=signoff_id)
                    )
                connection.execute(
                    sa.insert(audit_log).values(
                        occurred_at=signed_at,
                        actor=auditor,
                        action=f"signoff.{verdict}",
                        target=f"run:{run_id}",
                        detail=None if earlier is None else f"supersedes sign-off #{earlier}",
                    )
                )
        except sa.exc.IntegrityError as error:
            raise SignOffConflictError(
                f"{auditor} signed run {run_id} from elsewhere a moment ago; reload"
            ) from error
        return SignOff(
            signoff_id, run_id, auditor, cast(Verdict, verdict), comment, signed_at, CURRENT, None
        )

    def sign_run(self, run: SignedRun, auditor: str, verdict: str, comment: str = "") -> SignOff:
        """Sign off a run found in the orchestrator's record (CLI) or the published snapshot
        (console); one still running cannot be signed off yet."""
        if run.status == "running":
            raise SignOffInvalidError(
                f"run {run.run_id} is still running: sign it off once it ends"
            )
        return self.sign(run.run_id, auditor, verdict, comment)

    def record_export(
        self,
        run_id: str,
        auditor: str,
        fmt: str,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC).replace(tzinfo=None),
    ) -> None:
        """Note in `audit_log` that the auditor downloaded the run's report (a copy of masked
        failing rows and comments leaves the system: who took it, when, in which format)."""
        with self.engine.begin() as connection:
            connection.execute(
                sa.insert(audit_log).values(
                    occurred_at=now(),
                    actor=auditor,
                    action="report.export",
                    target=f"run:{run_id}",
                    detail=fmt,
                )
            )

    @staticmethod
    def _current_id(connection: Connection, run_id: str, auditor: str) -> int | None:
        value = connection.execute(
            sa.select(run_signoffs.c.signoff_id).where(
                run_signoffs.c.run_id == run_id,
                run_signoffs.c.auditor == auditor,
                run_signoffs.c.status == CURRENT,
            )
        ).scalar()
        return None if value is None else int(value)

    def history(self, run_id: str | None = None, *, auditor: str | None = None) -> list[SignOff]:
        """Every sign-off, superseded ones included, oldest first; of one run, one auditor."""
        query = sa.select(run_signoffs).order_by(run_signoffs.c.signoff_id)
        if run_id is not None:
            query = query.where(run_signoffs.c.run_id == run_id)
        if auditor is not None:
            query = query.where(run_signoffs.c.auditor == auditor)
        with self.engine.connect() as connection:
            return [_sign_off(row) for row in connection.execute(query).mappings()]

    def current(self, run_id: str) -> list[SignOff]:
        """The run's standing sign-offs, one per auditor who signed it, oldest first."""
        return [s for s in self.history(run_id) if s.status == CURRENT]

    def latest_by_run(self) -> dict[str, list[SignOff]]:
        """Each signed run's standing sign-offs: the run list's sign-off column."""
        signed: dict[str, list[SignOff]] = {}
        for sign_off in self.history():
            if sign_off.status == CURRENT:
                signed.setdefault(sign_off.run_id, []).append(sign_off)
        return signed

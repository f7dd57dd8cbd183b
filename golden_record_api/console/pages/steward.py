"""Steward workspace: the queue of questions, records side by side with the match weight's
waterfall, decisions (same, different, split, merge, revoke) with maker-checker, and each
decision's history. A decision that takes effect is applied at once by re-clustering only the
records it touches (`connectors.steward_apply`), and the page shows what changed.

The steward is the signed-in principal (`Principal.subject`), never a name typed in a form.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from connectors.ops_store import (
    Decision,
    DecisionConflictError,
    DecisionContradictionError,
    DecisionInvalidError,
    DecisionNotFoundError,
    DecisionStateError,
    OpsStore,
    StoredDecision,
)
from connectors.settings import Settings
from connectors.steward_apply import ApplyResult, apply_decision
from golden_record_api.console import stewarding
from golden_record_api.console.web import (
    PREFIX,
    CheckedFormDep,
    ConsoleUser,
    ops_backed,
    page_reader,
    render,
    require,
)
from golden_record_api.deps import SnapshotDep
from golden_record_api.principal import SCOPE_DECISIONS_WRITE
from golden_record_api.snapshot import Snapshot

StewardUser = Annotated[ConsoleUser, Depends(require(SCOPE_DECISIONS_WRITE))]
router = APIRouter(prefix=f"{PREFIX}/steward")

DECISION_TYPES = ("same", "different", "split", "merge")
ACTIONS = ("approve", "reject", "revoke")
# What each refusal is, as an HTTP status: the message itself names what is wrong.
REFUSALS: dict[type[Exception], int] = {
    DecisionInvalidError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    DecisionConflictError: status.HTTP_409_CONFLICT,
    DecisionContradictionError: status.HTTP_409_CONFLICT,
    DecisionStateError: status.HTTP_409_CONFLICT,
    DecisionNotFoundError: status.HTTP_404_NOT_FOUND,
}
OUTCOMES = "^(applied|deferred|not_applicable|pending|active|rejected|revoked)$"
_CHANGE = r"(create|update|merge|split|retire):G[0-9]{10}"
CHANGES = rf"^({_CHANGE})?(,{_CHANGE})*$"
QUESTION_ID = Path(pattern=r"^Q[0-9a-f]{16}$", description="A question of the queue")


def ops_store(request: Request) -> OpsStore:
    return ops_backed(request, "console_ops", OpsStore)


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


def _refused(error: Exception) -> HTTPException:
    code = next((c for kind, c in REFUSALS.items() if isinstance(error, kind)), 422)
    return HTTPException(code, detail=f"refused: {error}")


def _apply(request: Request, user: ConsoleUser, decision_id: int) -> ApplyResult:
    settings: Settings = request.app.state.settings
    return apply_decision(settings, decision_id, actor=user.principal.subject)


def _history(ops: OpsStore, decision_id: int) -> list[dict[Any, Any]]:
    return ops.history(decision_id).to_dict("records")


@router.get("", response_class=HTMLResponse)
async def queue(
    request: Request,
    snapshot: SnapshotDep,
    user: StewardUser,
    source: Annotated[str | None, Query(max_length=50)] = None,
    zone: Annotated[str | None, Query(max_length=30)] = None,
    min_age_days: Annotated[int | None, Query(ge=0, le=100_000)] = None,
    min_value: Annotated[float | None, Query(ge=0)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> HTMLResponse:
    where = stewarding.QueueFilter(source or None, zone or None, min_age_days, min_value)
    total, rows = await run_in_threadpool(stewarding.questions, snapshot, where, offset)
    decisions = await run_in_threadpool(ops_store(request).decisions)
    pending = decisions[decisions["status"] == "pending"].to_dict("records")
    return render(
        request,
        "steward/queue.html",
        user,
        total=total,
        questions=rows,
        filters=asdict(where),
        offset=offset,
        page_size=stewarding.QUEUE_PAGE,
        sources=await run_in_threadpool(stewarding.queue_sources, snapshot),
        pending=pending,
    )


def _question_page(
    request: Request,
    snapshot: Snapshot,
    user: ConsoleUser,
    question_id: str,
    **context: Any,
) -> HTMLResponse:
    found = stewarding.question(snapshot, question_id)
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"question {question_id} is not in the queue (decided, or the last run"
            " no longer asks it)",
        )
    keys = str(found["record_keys"]).split(",")
    pairs = [tuple(p.split("|", 1)) for p in str(found["pairs"] or "").split(";") if "|" in p]
    side_by_side = stewarding.records_side_by_side(snapshot, keys)
    source: stewarding.WaterfallSource = request.app.state.console_waterfalls
    waterfalls = source.waterfalls(snapshot, [(left, right) for left, right in pairs])
    # Personal data in clear on a page: one audit event for it (the steward's role sees it so).
    reader = page_reader(request, user, purpose="data_quality")
    reader.clear_fields |= {f"party_record.{f}" for f in stewarding.COMPARED_FIELDS}
    reader.record(r["golden_id"] for r in side_by_side["records"] if r.get("golden_id"))
    reader.flush()
    return render(
        request,
        "steward/question.html",
        user,
        question=found,
        pairs=pairs,
        waterfalls=waterfalls,
        decision_types=DECISION_TYPES,
        **side_by_side,
        **context,
    )


@router.get("/questions/{question_id}", response_class=HTMLResponse)
async def question(
    request: Request,
    snapshot: SnapshotDep,
    user: StewardUser,
    question_id: Annotated[str, QUESTION_ID],
) -> HTMLResponse:
    return await run_in_threadpool(_question_page, request, snapshot, user, question_id)


def _decide(request: Request, snapshot: Snapshot, user: ConsoleUser, form: Any) -> Response:
    decision_type = _field(form, "decision_type") or ""
    if decision_type not in DECISION_TYPES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"decision_type must be one of {', '.join(DECISION_TYPES)}",
        )
    decision = Decision(
        decision_type=decision_type,
        steward=user.principal.subject,
        reason=_field(form, "reason") or "",
        record_key_l=_field(form, "record_key_l"),
        record_key_r=_field(form, "record_key_r"),
        golden_id=_field(form, "golden_id"),
        related_golden_id=_field(form, "related_golden_id"),
    )
    ops = ops_store(request)
    try:
        context = stewarding.decision_context(snapshot, decision)
        decision_id = ops.record_decision(decision, **context)
    except tuple(REFUSALS) as error:
        question_id = _field(form, "question_id")
        refusal = _refused(error)
        if question_id:
            return _question_page(
                request,
                snapshot,
                user,
                question_id,
                error=refusal.detail,
                status_code=refusal.status_code,
            )
        raise refusal from None
    return _after(request, user, ops, decision_id)


def _after(request: Request, user: ConsoleUser, ops: OpsStore, decision_id: int) -> Response:
    """Apply what took effect, then show the decision with the outcome."""
    stored = ops.decision(decision_id)
    query: dict[str, str] = {"outcome": stored.status}
    if stored.status in ("active", "revoked"):
        result = _apply(request, user, decision_id)
        # What changed travels in the redirect (golden IDs and event types only, no personal
        # data), so whichever worker answers the next request can show it.
        query = {
            "outcome": result.outcome,
            "changes": ",".join(f"{c.event_type}:{c.golden_id}" for c in result.changes),
            "seconds": f"{result.seconds:.2f}",
        }
    return RedirectResponse(
        f"{PREFIX}/steward/decisions/{decision_id}?{urlencode(query)}",
        status_code=status.HTTP_303_SEE_OTHER,
    )


@router.post("/decisions")
async def decide(
    request: Request, snapshot: SnapshotDep, user: StewardUser, form: CheckedFormDep
) -> Response:
    return await run_in_threadpool(_decide, request, snapshot, user, form)


@router.get("/decisions", response_class=HTMLResponse)
async def decisions(
    request: Request,
    user: StewardUser,
    decision_status: Annotated[str | None, Query(alias="status", max_length=20)] = None,
) -> HTMLResponse:
    frame = await run_in_threadpool(ops_store(request).decisions)
    if decision_status:
        frame = frame[frame["status"] == decision_status]
    rows = frame.sort_values("decision_id", ascending=False).head(200).to_dict("records")
    return render(
        request, "steward/decisions.html", user, decisions=rows, status_filter=decision_status
    )


@router.get("/decisions/{decision_id}", response_class=HTMLResponse)
async def decision(
    request: Request,
    user: StewardUser,
    decision_id: Annotated[int, Path(ge=1, le=2**62)],
    outcome: Annotated[str | None, Query(pattern=OUTCOMES)] = None,
    changes: Annotated[str | None, Query(max_length=4000, pattern=CHANGES)] = None,
    seconds: Annotated[float | None, Query(ge=0)] = None,
) -> HTMLResponse:
    ops = ops_store(request)
    try:
        stored: StoredDecision = await run_in_threadpool(ops.decision, decision_id)
    except DecisionNotFoundError as error:
        raise _refused(error) from None
    history = await run_in_threadpool(_history, ops, decision_id)
    return render(
        request,
        "steward/decision.html",
        user,
        decision=stored,
        history=history,
        outcome=outcome,
        changes=[tuple(c.split(":", 1)) for c in (changes or "").split(",") if ":" in c],
        seconds=seconds,
        own=stored.steward == user.principal.subject,
    )


def _act(
    request: Request,
    snapshot: Snapshot,
    user: ConsoleUser,
    decision_id: int,
    action: str,
    form: Any,
) -> Response:
    ops = ops_store(request)
    reason = _field(form, "reason") or ""
    steward = user.principal.subject
    try:
        if action == "approve":
            context = stewarding.decision_context(snapshot, None)
            ops.approve(
                decision_id, steward, reason, xref=context["xref"], golden=context["golden"]
            )
        elif action == "reject":
            ops.reject(decision_id, steward, reason)
        else:
            ops.revoke(decision_id, steward, reason)
    except tuple(REFUSALS) as error:
        raise _refused(error) from None
    return _after(request, user, ops, decision_id)


@router.post("/decisions/{decision_id}/{action}")
async def act(
    request: Request,
    snapshot: SnapshotDep,
    user: StewardUser,
    form: CheckedFormDep,
    decision_id: Annotated[int, Path(ge=1, le=2**62)],
    action: Annotated[str, Path(pattern="^(approve|reject|revoke)$")],
) -> Response:
    return await run_in_threadpool(_act, request, snapshot, user, decision_id, action, form)

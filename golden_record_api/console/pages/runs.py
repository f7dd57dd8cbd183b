"""Auditor workspace: the pipeline's runs, each run's quality report with its drill-down to the
masked failing rows, the auditors' sign-offs and the report's export to CSV and XLSX.

Everything about runs is read from the published snapshot (`dq.runs`, `dq.results`,
`dq.failing_rows`, put there by the publish asset), never from the orchestrator: this process
serves what was published and does not import Dagster. The report's rules stay in `quality/`
(colours from pass and fail, the trend over full runs, the drill-down, the export tables);
sign-offs and the export's audit entry are `connectors.signoffs`', in the ops store.
"""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from connectors.reports import EXPORT_FORMATS, export_bytes
from connectors.signoffs import (
    COMMENT_MAX_LENGTH,
    VERDICTS,
    SignOff,
    SignOffConflictError,
    SignOffInvalidError,
    SignOffs,
)
from golden_record_api.console.web import (
    PREFIX,
    CheckedFormDep,
    ConsoleUser,
    ops_backed,
    render,
    require,
)
from golden_record_api.deps import SnapshotDep
from golden_record_api.principal import SCOPE_AUDIT_READ, SCOPE_QUALITY_SIGNOFF
from golden_record_api.snapshot import Snapshot
from quality.export import report_tables
from quality.report import collect, rule_drilldown
from quality.runs import RunSummary, published_runs, result_counts, run_summaries

RunsUser = Annotated[ConsoleUser, Depends(require(SCOPE_AUDIT_READ))]
SigningUser = Annotated[ConsoleUser, Depends(require(SCOPE_AUDIT_READ, SCOPE_QUALITY_SIGNOFF))]
router = APIRouter(prefix=f"{PREFIX}/runs")

RUN_ID = Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="A pipeline run's id")
RULE_ID = Path(pattern=r"^[A-Za-z0-9_.-]{1,80}$", description="A quality rule's id")
SOURCE = Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="A source system, or `all`")
RUNS_SHOWN = 200
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def signoffs(request: Request) -> SignOffs:
    return ops_backed(request, "console_signoffs", SignOffs)


def _query(snapshot: Snapshot) -> Any:
    def query(sql: str) -> pd.DataFrame:
        return snapshot.frame(sql)

    return query


def _runs(snapshot: Snapshot) -> list[RunSummary]:
    query = _query(snapshot)
    return run_summaries(published_runs(query), result_counts(query))


def _run(snapshot: Snapshot, run_id: str) -> RunSummary:
    found = [run for run in _runs(snapshot) if run.run_id == run_id]
    if not found:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"the published snapshot has no run {run_id!r}"
        )
    return found[0]


def _run_list(snapshot: Snapshot, store: SignOffs) -> list[dict[str, Any]]:
    signed = store.latest_by_run()
    return [
        {"run": run, "signoffs": signed.get(run.run_id, [])} for run in _runs(snapshot)[:RUNS_SHOWN]
    ]


@router.get("", response_class=HTMLResponse)
async def run_list(request: Request, snapshot: SnapshotDep, user: RunsUser) -> HTMLResponse:
    rows = await run_in_threadpool(_run_list, snapshot, signoffs(request))
    return render(request, "runs/list.html", user, rows=rows)


def _report(snapshot: Snapshot, store: SignOffs, run_id: str) -> dict[str, Any]:
    run = _run(snapshot, run_id)
    query = _query(snapshot)
    return {
        "run": run,
        "report": collect(query, run.run_id, runs=published_runs(query)),
        "signoffs": store.history(run.run_id),
    }


def _report_page(
    request: Request,
    snapshot: Snapshot,
    user: ConsoleUser,
    data: dict[str, Any],
    *,
    status_code: int = status.HTTP_200_OK,
    refusal: str | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "runs/report.html",
        user,
        status_code=status_code,
        refusal=refusal,
        form=form or {},
        verdicts=VERDICTS,
        comment_max=COMMENT_MAX_LENGTH,
        formats=EXPORT_FORMATS,
        can_sign=user.principal.has(SCOPE_QUALITY_SIGNOFF),
        **data,
    )


@router.get("/{run_id}", response_class=HTMLResponse)
async def run_report(
    request: Request,
    snapshot: SnapshotDep,
    user: RunsUser,
    run_id: Annotated[str, RUN_ID],
) -> HTMLResponse:
    data = await run_in_threadpool(_report, snapshot, signoffs(request), run_id)
    return _report_page(request, snapshot, user, data)


@router.get("/{run_id}/rules/{rule_id}/{source_system}", response_class=HTMLResponse)
async def rule_rows(
    request: Request,
    snapshot: SnapshotDep,
    user: RunsUser,
    run_id: Annotated[str, RUN_ID],
    rule_id: Annotated[str, RULE_ID],
    source_system: Annotated[str, SOURCE],
) -> HTMLResponse:
    drilldown = await run_in_threadpool(
        rule_drilldown, _query(snapshot), run_id, rule_id, source_system
    )
    if drilldown is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"run {run_id!r} has no result of rule {rule_id!r} for {source_system!r}",
        )
    rows = drilldown.rows.to_dict("records")
    return render(request, "runs/rule.html", user, rule=drilldown, rows=rows)


def _signed(
    snapshot: Snapshot, store: SignOffs, run_id: str, auditor: str, verdict: str, comment: str
) -> SignOff:
    return store.sign_run(_run(snapshot, run_id), auditor, verdict, comment)


@router.post("/{run_id}/sign-off", response_class=HTMLResponse)
async def sign_run_off(
    request: Request,
    snapshot: SnapshotDep,
    user: SigningUser,
    form: CheckedFormDep,
    run_id: Annotated[str, RUN_ID],
) -> Response:
    verdict, comment = form.get("verdict"), form.get("comment")
    verdict = verdict if isinstance(verdict, str) else ""
    comment = comment if isinstance(comment, str) else ""
    store = signoffs(request)
    try:
        # The auditor is the signed-in subject, never a name typed in the form.
        await run_in_threadpool(
            _signed, snapshot, store, run_id, user.principal.subject, verdict, comment
        )
    except (SignOffInvalidError, SignOffConflictError) as error:
        code = (
            status.HTTP_409_CONFLICT
            if isinstance(error, SignOffConflictError)
            else status.HTTP_422_UNPROCESSABLE_CONTENT
        )
        data = await run_in_threadpool(_report, snapshot, store, run_id)
        return _report_page(
            request,
            snapshot,
            user,
            data,
            status_code=code,
            refusal=str(error),
            form={"verdict": verdict, "comment": comment},
        )
    return RedirectResponse(
        f"{PREFIX}/runs/{run_id}#signoffs", status_code=status.HTTP_303_SEE_OTHER
    )


def _export(snapshot: Snapshot, store: SignOffs, run_id: str, auditor: str, fmt: str) -> bytes:
    run = _run(snapshot, run_id)
    tables = report_tables(_query(snapshot), run, store.history(run.run_id))
    data = export_bytes(tables, fmt)
    store.record_export(run.run_id, auditor, fmt)
    return data


@router.get("/{run_id}/export.{fmt}")
async def export_run(
    request: Request,
    snapshot: SnapshotDep,
    user: RunsUser,
    run_id: Annotated[str, RUN_ID],
    fmt: str,
) -> Response:
    if fmt not in EXPORT_FORMATS:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"no export as {fmt!r}: one of {', '.join(EXPORT_FORMATS)}",
        )
    data = await run_in_threadpool(
        _export, snapshot, signoffs(request), run_id, user.principal.subject, fmt
    )
    return Response(
        data,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="dq-{run_id}.{fmt}"'},
    )

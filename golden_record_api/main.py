"""The golden-record API: a thin, read-only API over the published serving snapshot.

Run it with `uvicorn golden_record_api.main:app`. It reads `var/serving.duckdb` (or
`MDM_SERVING_PATH`) and nothing else; the pipeline's warehouse is never opened. Every C2 field
is masked in this version (see `masking`): there are no users or roles yet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from connectors.settings import Settings, get_settings
from golden_record_api.ops_read_auditor import start_read_auditor, stop_read_auditor
from golden_record_api.routers import (
    audit,
    customers,
    golden_records,
    health,
    kpis,
    rm_tasks,
    source_records,
)
from golden_record_api.snapshot import SnapshotStore, SnapshotUnavailable

OPENAPI_TAGS = [
    {"name": "health", "description": "Is a published snapshot there, and from when"},
    {
        "name": "golden records",
        "description": "Golden records, their source records, lookups, and merges followed",
    },
    {"name": "customers", "description": "The customer 360 view built on the golden records"},
    {"name": "kpis", "description": "Service, loan-cycle and MDM KPIs from the marts"},
    {"name": "rm tasks", "description": "Relationship managers' open tasks"},
    {"name": "audit", "description": "The audit trail of reads of personal data (auditors)"},
]


async def _snapshot_unavailable(request: Request, exc: Exception) -> JSONResponse:
    detail = exc.detail if isinstance(exc, SnapshotUnavailable) else str(exc)
    return JSONResponse(status_code=status.HTTP_503_SERVICE_UNAVAILABLE, content={"detail": detail})


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app serving `settings.resolved_serving_path` (default: the environment's settings)."""
    settings = settings or get_settings()
    store = SnapshotStore(settings.resolved_serving_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        start_read_auditor(app)
        yield
        stop_read_auditor(app)
        store.close()

    app = FastAPI(
        title="Customer MDM golden-record API",
        summary="Read-only golden records, source records and the customer 360 view",
        version="0.1.0",
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.snapshot_store = store
    app.add_exception_handler(SnapshotUnavailable, _snapshot_unavailable)
    app.include_router(health.router)
    app.include_router(golden_records.router)
    app.include_router(customers.router)
    app.include_router(source_records.router)
    app.include_router(kpis.router)
    app.include_router(rm_tasks.router)
    app.include_router(audit.router)
    return app


app = create_app()

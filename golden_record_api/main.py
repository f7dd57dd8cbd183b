"""The golden-record API: a thin, read-only API over the published serving snapshot.

Run it with `uvicorn golden_record_api.main:app`. It reads `var/serving.duckdb` (or
`MDM_SERVING_PATH`) and nothing else; the pipeline's warehouse is never opened. Every C2 field
is masked in this version (see `masking`): there are no users or roles yet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from connectors.settings import Settings, get_settings
from golden_record_api import problems
from golden_record_api.routers import customers, golden_records, health, source_records
from golden_record_api.snapshot import SnapshotStore

OPENAPI_TAGS = [
    {"name": "health", "description": "Is a published snapshot there, and from when"},
    {
        "name": "golden records",
        "description": "Golden records, their source records, lookups, and merges followed",
    },
    {"name": "customers", "description": "The customer 360 view built on the golden records"},
]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app serving `settings.resolved_serving_path` (default: the environment's settings)."""
    settings = settings or get_settings()
    store = SnapshotStore(settings.resolved_serving_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    # FastAPIOffline: /docs and /redoc load Swagger UI and ReDoc from files shipped in the
    # package, served by the app; a bank's network has no route to a CDN.
    app = FastAPIOffline(
        title="Customer MDM golden-record API",
        summary="Read-only golden records, source records and the customer 360 view",
        version="0.1.0",
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
        responses=problems.PROBLEM_RESPONSES,
    )
    app.state.settings = settings
    app.state.snapshot_store = store
    problems.install(app)
    app.include_router(health.router)
    app.include_router(golden_records.router)
    app.include_router(customers.router)
    app.include_router(source_records.router)
    return app


app = create_app()

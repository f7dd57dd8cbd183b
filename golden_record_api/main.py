"""The golden-record API: a thin, read-only API over the published serving snapshot.

Run it with `mdm api` (uvicorn's `--factory golden_record_api.main:server_app`). It reads
`var/serving.duckdb` (or `MDM_SERVING_PATH`); the pipeline's warehouse is never opened. Every
endpoint but `/health` needs a bearer JWT or an API key (`auth`); what each role sees is the
access policy's (`policy`, `access_policy.yaml`), and every response with personal data is
recorded by the read auditor (`read_audit`).
"""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, status
from fastapi.security import APIKeyHeader, HTTPBearer
from fastapi_offline import FastAPIOffline

from connectors.settings import Settings, get_settings
from golden_record_api import console, problems
from golden_record_api.auth import API_KEY_HEADER, LazyKeyStore, build_authenticator
from golden_record_api.inbox_drainer import INTERVAL_SECONDS as INBOX_DRAIN_SECONDS
from golden_record_api.inbox_drainer import InboxDrainer
from golden_record_api.ops_read_auditor import (
    build_read_auditor,
    start_read_auditor,
    stop_read_auditor,
)
from golden_record_api.policy import load_policy
from golden_record_api.rate_limit import SharedTokenBuckets, TokenBuckets
from golden_record_api.read_audit import ReadAuditor
from golden_record_api.routers import (
    audit,
    changes,
    customers,
    golden_records,
    health,
    kpis,
    match,
    records,
    rm_tasks,
    source_records,
)
from golden_record_api.snapshot import SnapshotStore

OPENAPI_TAGS = [
    {"name": "health", "description": "Is a published snapshot there, and from when"},
    {
        "name": "golden records",
        "description": "Golden records, their source records, lookups, and merges followed",
    },
    {"name": "customers", "description": "The customer 360 view built on the golden records"},
    {"name": "match", "description": "Is a prospect already a customer? Scored, nothing written"},
    {"name": "kpis", "description": "Service, loan-cycle and MDM KPIs from the marts"},
    {"name": "rm tasks", "description": "Relationship managers' open tasks"},
    {"name": "audit", "description": "The audit trail of reads of personal data (auditors)"},
    {"name": "changes", "description": "The change feed: golden events after a cursor"},
    {"name": "records", "description": "A source system upserts one of its records online"},
]


# Only so the OpenAPI document (and /docs' "Authorize") shows both ways to authenticate; the
# checking is `app.state.authenticator`'s, through each route's PrincipalDep.
CREDENTIALS = [
    Depends(HTTPBearer(auto_error=False, description="A JWT from the bank's identity provider")),
    Depends(APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="mdm keys create")),
]


# What every route behind CREDENTIALS can answer before it runs: no or bad credentials, a role
# without the scope, and an identity provider that cannot be reached.
CREDENTIAL_PROBLEMS = problems.problem_responses(
    {
        status.HTTP_401_UNAUTHORIZED: None,
        status.HTTP_403_FORBIDDEN: None,
        status.HTTP_503_SERVICE_UNAVAILABLE: None,
    }
)


# A young generation this large is collected about once per few hundred requests instead of
# every few: each collection is cheap, what costs is how often the loop stops for one.
GC_GEN0_THRESHOLD = 50_000
# The longest the request thread waits for the GIL when the audit writer holds it. CPython's
# default is 5 ms: every SQLite read and socket write releases the GIL, and taking it back from
# a busy writer thread then cost a request up to 5 ms (that was the p99 tail at 1M records).
GIL_SWITCH_INTERVAL_SECONDS = 0.0005


def settle_heap() -> None:
    """Once the app has started: move every object alive now out of the collector's sight.

    At start-up a worker holds ~350,000 long-lived objects (FastAPI, pydantic, SQLAlchemy,
    the policy); a full collection walks them all, 50-100 ms during which no request is
    answered, and CPython runs one every few thousand requests. Frozen, they are never walked
    again (they live as long as the process anyway); what requests leave behind is still
    collected.
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_SECONDS)


def create_app(
    settings: Settings | None = None,
    *,
    read_auditor: ReadAuditor | None = None,
    server_process: bool = False,
    inbox_drain_seconds: float = INBOX_DRAIN_SECONDS,
) -> FastAPI:
    """The app serving `settings.resolved_serving_path` (default: the environment's settings).

    `inbox_drain_seconds`: how often the record inbox is drained when nothing wakes it
    (`golden_record_api.inbox_drainer`).
    `server_process`: the app owns its process (`mdm api`), so its start-up may tune the
    process's collector and GIL (`settle_heap`); a test's app shares the process and does not.
    """
    settings = settings or get_settings()
    store = SnapshotStore(settings.resolved_serving_path)
    policy = load_policy(settings.access_policy_path)
    keys = LazyKeyStore(settings.resolved_ops_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The ops store is opened when the server starts, not when the module is imported: an
        # import (the OpenAPI export, `mdm --help`) must not create var/ops.sqlite.
        if app.state.read_auditor is None:
            app.state.read_auditor = build_read_auditor(settings)
        start_read_auditor(app)
        # Queued online writes (POST /records during a batch run) are applied when it is free.
        drainer = InboxDrainer(settings, inbox_drain_seconds)
        app.state.inbox_drainer = drainer
        drainer.start()
        if server_process:
            settle_heap()
        yield
        await drainer.stop()
        stop_read_auditor(app)
        store.close()
        keys.dispose()
        if isinstance(app.state.lookup_buckets, SharedTokenBuckets):
            app.state.lookup_buckets.close()

    # FastAPIOffline: /docs and /redoc load Swagger UI and ReDoc from files shipped in the
    # package, served by the app; a bank's network has no route to a CDN. Without `api_docs`
    # there is no document at all: nothing but /health answers without credentials.
    document: dict[str, Any] = {
        "title": "Customer MDM golden-record API",
        "summary": "Read-only golden records, source records and the customer 360 view",
        "version": "0.1.0",
        "openapi_tags": OPENAPI_TAGS,
        "lifespan": lifespan,
        "responses": problems.PROBLEM_RESPONSES,
    }
    app = (
        FastAPIOffline(**document)
        if settings.api_docs
        else FastAPI(**document, openapi_url=None, docs_url=None, redoc_url=None)
    )
    app.state.settings = settings
    app.state.snapshot_store = store
    app.state.access_policy = policy
    app.state.authenticator = build_authenticator(settings, policy, keys)
    app.state.read_auditor = read_auditor  # None: the ops-store auditor, at start-up
    app.state.lookup_buckets = (
        SharedTokenBuckets(
            settings.rate_limit_path, settings.lookup_rate_per_minute, settings.lookup_burst
        )
        if settings.lookup_rate_shared
        else TokenBuckets(settings.lookup_rate_per_minute, settings.lookup_burst)
    )
    problems.install(app)
    app.include_router(health.router)
    for router in (
        golden_records.router,
        customers.router,
        source_records.router,
        match.router,
        kpis.router,
        rm_tasks.router,
        audit.router,
        changes.router,
        records.router,
    ):
        app.include_router(router, dependencies=CREDENTIALS, responses=CREDENTIAL_PROBLEMS)
    console.install(app, settings)
    return app


app = create_app()


def server_app() -> FastAPI:
    """The app as `mdm api` serves it, one per worker process (uvicorn's `factory=True`)."""
    return create_app(server_process=True)

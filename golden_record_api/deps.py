"""Typed dependencies: the settings, the snapshot store, a snapshot per request, a golden ID."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status

from connectors.settings import Settings
from golden_record_api.schemas import GOLDEN_ID_EXAMPLE, GOLDEN_ID_PATTERN
from golden_record_api.snapshot import Snapshot, SnapshotStore


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_snapshot_store(request: Request) -> SnapshotStore:
    store: SnapshotStore = request.app.state.snapshot_store
    return store


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SnapshotStoreDep = Annotated[SnapshotStore, Depends(get_snapshot_store)]


def get_snapshot(store: SnapshotStoreDep) -> Iterator[Snapshot]:
    """The published snapshot for this request (503 through the app's handler if none)."""
    with store.open() as snapshot:
        yield snapshot


SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]


def valid_golden_id(
    golden_id: Annotated[
        str,
        Path(description="Golden ID: `G` and 10 digits", examples=[GOLDEN_ID_EXAMPLE]),
    ],
) -> str:
    """The path's golden ID, or 422 with a message saying what a golden ID looks like."""
    if not GOLDEN_ID_PATTERN.fullmatch(golden_id):
        raise HTTPException(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"malformed golden ID {golden_id!r}: expected G followed by 10 digits",
        )
    return golden_id


GoldenIdDep = Annotated[str, Depends(valid_golden_id)]

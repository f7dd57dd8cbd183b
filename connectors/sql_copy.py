"""Copy tables between databases: puts a simulated source system on a real database server."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import sqlalchemy as sa

from connectors.urls import sqlalchemy_url


def copy_tables(
    source_url: str, target_url: str, tables: Sequence[str], chunk_size: int = 50_000
) -> dict[str, int]:
    """Replace each table in the target with the source's rows (text columns, as the source
    systems store them); returns rows copied per table."""
    source = sa.create_engine(sqlalchemy_url(source_url))
    target = sa.create_engine(sqlalchemy_url(target_url))
    copied: dict[str, int] = {}
    try:
        for table in tables:
            frame = pd.read_sql_table(table, source)
            with target.begin() as connection:
                connection.execute(sa.text(f"drop table if exists {_quoted(target, table)}"))
            frame.to_sql(
                table,
                target,
                index=False,
                chunksize=chunk_size,
                method="multi",
                dtype={c: sa.Text() for c in frame.columns if frame[c].dtype == object},  # type: ignore[misc]
            )
            copied[table] = len(frame)
    finally:
        source.dispose()
        target.dispose()
    return copied


def _quoted(engine: sa.Engine, table: str) -> str:
    return engine.dialect.identifier_preparer.quote(table)

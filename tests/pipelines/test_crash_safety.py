"""A run killed in the middle of writing golden records leaves the previous ones intact.

The golden stage runs in a child process that SIGKILLs itself after the first of its tables
has been written inside the stage's transaction; the parent then checks every golden table is
exactly as the previous run left it, and that a rerun completes.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from connectors.settings import Settings
from connectors.warehouse import open_warehouse
from pipelines.build import build_mdm_assets, build_resources
from pipelines.mdm_config import load_config
from tests.conftest import fresh_postgres_database, write_pipeline_config

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path

    import dagster as dg

    import connectors.warehouse as warehouse_module
    from connectors.settings import Settings
    from pipelines.assets.golden import build_golden_asset
    from pipelines.build import build_resources
    from pipelines.mdm_config import load_config

    class KillAfterFirstTable(dict):
        def items(self):
            for position, item in enumerate(super().items()):
                if position == 1:
                    os.kill(os.getpid(), signal.SIGKILL)
                yield item

    for cls in (warehouse_module.DuckDBWarehouse, warehouse_module.PostgresWarehouse):
        original = cls.replace_tables
        def replace_tables(self, tables, _original=original):
            if "mdm.golden_records" in tables:
                tables = KillAfterFirstTable(tables)
            return _original(self, tables)
        cls.replace_tables = replace_tables

    home, config, url = sys.argv[1], sys.argv[2], sys.argv[3] or None
    settings = Settings(home=Path(home), config_path=Path(config), warehouse_url=url)
    asset = build_golden_asset(load_config(settings.config_path))
    dg.materialize([asset], resources=build_resources(settings))
    """
)


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_url(request) -> Iterator[str | None]:  # type: ignore[no-untyped-def]
    if request.param == "duckdb":
        yield None
    else:
        with fresh_postgres_database() as url:
            yield url


# The change feed's outbox is among them: a killed write announces nothing it did not commit.
GOLDEN_TABLES = (
    "mdm.golden_records",
    "mdm.xref",
    "mdm.golden_lineage",
    "mdm.golden_history",
    "mdm.change_outbox",
)


def test_killed_golden_write_keeps_previous_golden_records_and_a_rerun_completes(
    tmp_path: Path, simulated_sources: Path, warehouse_url: str | None
):
    settings = Settings(
        home=tmp_path / "var",
        config_path=write_pipeline_config(simulated_sources, tmp_path / "mdm.yaml"),
        warehouse_url=warehouse_url,
    )
    config = load_config(settings.config_path)
    assert dg.materialize(build_mdm_assets(config), resources=build_resources(settings)).success
    store = open_warehouse(settings.resolved_warehouse_url)
    before = {table: store.read_table(table) for table in GOLDEN_TABLES}

    # Make the next golden run different from the last: every record its own cluster.
    clusters = store.read_table("mdm.clusters")
    store.replace_table(
        "mdm.clusters", clusters.assign(cluster_id=clusters["record_key"], cluster_size=1)
    )
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    child = subprocess.run(
        [
            sys.executable,
            str(script),
            str(settings.home),
            str(settings.config_path),
            warehouse_url or "",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]

    store = open_warehouse(settings.resolved_warehouse_url)
    for table, frame in before.items():
        after = store.read_table(table)
        pd.testing.assert_frame_equal(
            frame.sort_values(list(frame.columns[:2]), ignore_index=True),
            after.sort_values(list(frame.columns[:2]), ignore_index=True),
            check_dtype=False,
        )

    golden = [
        a
        for a in build_mdm_assets(config)
        if "mdm/golden_records" in {k.to_user_string() for k in a.keys}
    ]
    assert dg.materialize(golden, resources=build_resources(settings)).success
    rerun = open_warehouse(settings.resolved_warehouse_url).read_table("mdm.golden_records")
    assert (rerun["status"] == "active").sum() == len(clusters)  # the split clusters applied
    # The rerun's events entered the outbox, numbered on from the first run's.
    store = open_warehouse(settings.resolved_warehouse_url)
    outbox = store.read_table("mdm.change_outbox").sort_values("seq", ignore_index=True)
    first_run = len(before["mdm.change_outbox"])
    assert outbox["seq"].tolist() == list(range(1, len(outbox) + 1))
    assert len(outbox) > first_run
    assert set(outbox["event_id"]) == set(store.read_table("mdm.golden_events")["event_id"])

"""`dbt parse` of the project into a test's own folder (what Dagster does at import time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connectors.settings import PROJECT_ROOT

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


def parse_project(folder: Path) -> Any:
    """dbt's result of parsing the project, its target and logs under `folder`."""
    from dbt.cli.main import dbtRunner

    return dbtRunner().invoke(
        [
            "parse",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(folder / "target"),
            "--log-path",
            str(folder / "logs"),
            "--no-partial-parse",
        ]
    )

"""dbt's per-run target folders are bounded on disk."""

import os
from pathlib import Path

from pipelines.dbt import prune_dbt_runs


def test_prune_keeps_only_the_newest_run_folders(tmp_path: Path) -> None:
    for age, name in enumerate(["newest", "second", "third", "oldest"]):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "run_results.json").write_text("{}", encoding="utf-8")
        os.utime(folder, (1_000_000 - age * 60, 1_000_000 - age * 60))

    prune_dbt_runs(tmp_path, keep=2)

    assert sorted(path.name for path in tmp_path.iterdir()) == ["newest", "second"]


def test_prune_of_a_missing_folder_does_nothing(tmp_path: Path) -> None:
    prune_dbt_runs(tmp_path / "never-ran", keep=2)
    assert not (tmp_path / "never-ran").exists()

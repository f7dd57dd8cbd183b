"""The matching pipeline end to end on the simulated bank sources (3,000 people).

The same run as `benchmarks/bench_pipeline.py --people 3000 [--noise-multiplier 2]`:
simulate, read the sources as text, standardize, `link` with the shipped mdm.yaml, and
measure against the simulator's truth. Measured (seed 42):

    noise x1  records 5,294   pairwise F1 0.99965  auto-match P 1.00000  review 0.11%
              false merges 0, twins merged 0
    noise x2  records 9,237   pairwise F1 0.99930  auto-match P 1.00000  review 0.19%
              false merges 0, twins merged 0

The floors sit a little under these; the targets at 10,000 people (F1 >= 0.995, auto-match
precision >= 0.999, no twins merged, review <= 2%; F1 >= 0.985 with doubled noise) are
checked by the benchmark.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.bench_pipeline import run_pipeline


@pytest.mark.parametrize(
    ("noise_multiplier", "f1_floor", "review_ceiling"),
    [(1.0, 0.998, 0.005), (2.0, 0.997, 0.008)],
)
def test_simulated_bank_is_matched_without_false_merges(
    tmp_path: Path, noise_multiplier: float, f1_floor: float, review_ceiling: float
):
    run = run_pipeline(3_000, noise_multiplier=noise_multiplier, work_dir=tmp_path, workers=1)
    e = run.evaluation
    assert run.records > 5_000
    assert e.pairwise.f1 >= f1_floor
    assert e.clusters.f1 >= f1_floor
    assert e.auto_match.precision >= 0.999
    assert e.twins_merged == 0
    assert sum(e.false_merges.values()) <= 1
    assert e.review_share <= review_ceiling
    # Every stage was timed.
    assert set(run.seconds) >= {"standardize", "block", "compare", "train", "predict", "cluster"}

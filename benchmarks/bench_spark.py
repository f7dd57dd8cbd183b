"""Spark against the single machine: blocking, comparison and scoring of one simulated bank.

    .venv/bin/python benchmarks/bench_spark.py --people 100000 [--master local[2]]

Simulates the bank (`bench_pipeline`'s simulator and standardizers), trains the model on the
driver, then times blocking + comparison + scoring twice: `matching.engine` in this process
and `matching.spark.score` (collected to the driver), and prints whether the two give the same
candidate pairs, first rules and gammas, and weights equal to 1e-9.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_pipeline import (  # noqa: E402
    noise_config,
    read_party_tables,
    simulated_sources,
    standardize_all,
)
from connectors.settings import PROJECT_ROOT  # noqa: E402
from matching import MatchingConfig  # noqa: E402
from matching.engine import candidate_pairs, compare, predict, train  # noqa: E402
from matching.spark import score, spark_session  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()

    document = yaml.safe_load((PROJECT_ROOT / "mdm.yaml").read_text(encoding="utf-8"))
    config = MatchingConfig.model_validate(document["matching"])
    with tempfile.TemporaryDirectory() as folder:
        manifest, _ = simulated_sources(Path(folder), args.people, args.seed, noise_config(1.0))
        raw = read_party_tables(Path(folder), document["sources"])
    now = pd.Timestamp(manifest["as_of"]) + pd.Timedelta(days=1)
    records, _ = standardize_all(raw, document["sources"], now, 1)

    clock = time.perf_counter()
    prepared, pairs, _ = candidate_pairs(records, config)
    gammas = compare(prepared, pairs, config)
    block_compare = time.perf_counter() - clock
    model = train(prepared, config, gammas, pairs=pairs)  # on the driver for both engines
    clock = time.perf_counter()
    local = predict(prepared, pairs, gammas, model)
    local_seconds = block_compare + time.perf_counter() - clock

    spark = spark_session(args.master, {"spark.sql.shuffle.partitions": "8"})
    spark.range(1).count()  # the session's start is not the engine's time
    clock = time.perf_counter()
    on_spark = score(spark, prepared, config, model).to_pandas()
    spark_seconds = time.perf_counter() - clock
    spark.stop()

    same_pairs = len(local) == len(on_spark) and bool(
        (local["idx_l"].to_numpy() == on_spark["idx_l"].to_numpy()).all()
        and (local["idx_r"].to_numpy() == on_spark["idx_r"].to_numpy()).all()
        and (local["blocking_rule"].astype(str) == on_spark["blocking_rule"].astype(str)).all()
    )
    gamma_columns = [c.gamma_column for c in config.comparisons]
    same_gammas = same_pairs and all(
        (local[g].to_numpy() == on_spark[g].to_numpy()).all() for g in gamma_columns
    )
    largest = (
        float(np.abs(local["match_weight"].to_numpy() - on_spark["match_weight"].to_numpy()).max())
        if same_pairs and len(local)
        else float("nan")
    )
    print(f"records {len(prepared):,}  candidate pairs {len(local):,}  master {args.master}")
    print(f"local  block+compare+score {local_seconds:8.1f} s")
    print(f"spark  block+compare+score {spark_seconds:8.1f} s  (session start excluded)")
    print(
        f"equal: pairs and first rules {same_pairs}, gammas {same_gammas}, "
        f"largest weight difference {largest:.3g} (within 1e-9: {largest <= 1e-9})"
    )
    if not (same_pairs and same_gammas and largest <= 1e-9):
        raise SystemExit("the Spark engine's pairs or weights differ from the local path's")


if __name__ == "__main__":
    main()

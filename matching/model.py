"""The Fellegi-Sunter model: m and u per comparison level, the prior, match weights.

Estimation, the way Splink does it:

* **u** (P(level | non-match)) from a seeded random sample of record pairs compared with the
  same code as the candidates: random pairs are almost all non-matches.
* **m** (P(level | match)) and the prior **λ** by EM on the candidate pairs, over the unique
  gamma patterns weighted by their counts, with u held fixed.

λ here is the probability that two *random* comparable records match (Splink's
`probability_two_random_records_match`), not the match share among candidates: u comes from
random pairs, so the Bayes factors m/u only combine correctly with the population prior.
EM therefore divides the expected number of matches by all comparable pairs (n(n-1)/2 under
deduplication), treating pairs that blocking did not produce as non-matches — the usual
assumption that blocking finds (nearly) every match.

Match weight (bits) = log2(λ / (1 - λ)) + Σ_comparisons log2(m[γ] / u[γ]), a null comparison
adding 0; match probability = 2^w / (1 + 2^w).

**Term-frequency adjustment** on a level marked `tf_adjust` (the exact name level): for a
pair at that level u is replaced by u_tf = max(tf(value_l), tf(value_r)), tf(v) being the
share of records with a non-null value whose value is v, i.e. the chance that a random other
record has the same value. The contribution becomes log2(m[γ] / u_tf) = log2(m[γ]/u[γ]) +
log2(u[γ] / u_tf): a name as common as 张伟 weighs less than a rare one like 欧阳婧. The tf table
is not part of the saved model: it is recomputed from the records being scored
(`term_frequencies`), so it follows the current customer base. EM runs without it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from matching.comparison import RecordColumns, compare_pairs
from matching.config import Comparison, LinkType, MatchingConfig

MODEL_FORMAT = "bank-mdm/fellegi-sunter"
MODEL_VERSION = 1
_PROBABILITY_FLOOR = 1e-10


@dataclass(frozen=True)
class ComparisonParameters:
    """m and u of one comparison, indexed by gamma (0 = else … k = first listed level)."""

    name: str
    labels: tuple[str, ...]
    m: tuple[float, ...]
    u: tuple[float, ...]
    tf_gamma: int | None = None  # the term-frequency-adjusted level, if any
    tf_column: str | None = None

    @property
    def gamma_column(self) -> str:
        return f"gamma_{self.name}"

    def bayes_factor_bits(self) -> np.ndarray:
        """log2(m/u) per gamma, with a leading 0 for null (gamma -1): index with gamma + 1."""
        m = np.asarray(self.m)
        u = np.asarray(self.u)
        return np.concatenate([[0.0], np.log2(m / u)])

    def label(self, gamma: int) -> str:
        return "null" if gamma < 0 else self.labels[gamma]


@dataclass
class FellegiSunterModel:
    comparisons: list[ComparisonParameters]
    prior_match_probability: float  # λ: probability that two random comparable records match
    config_hash: str
    comparisons_hash: str
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def prior_weight(self) -> float:
        lam = self.prior_match_probability
        return math.log2(lam / (1.0 - lam))

    # ------------------------------------------------------------------ scoring

    def term_frequencies(self, records: pd.DataFrame | RecordColumns) -> dict[str, np.ndarray]:
        """Per tf-adjusted comparison, tf(value) of each prepared record (NaN where null)."""
        columns = records if isinstance(records, RecordColumns) else RecordColumns(records)
        return {
            c.name: _record_frequencies(columns, c.tf_column)
            for c in self.comparisons
            if c.tf_column is not None
        }

    def match_weights(
        self,
        gammas: pd.DataFrame,
        idx_l: np.ndarray | None = None,
        idx_r: np.ndarray | None = None,
        term_frequencies: Mapping[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Match weight of each row of `gammas` (gamma columns of the model's comparisons).

        With `term_frequencies` (from `term_frequencies(records)`) and the pairs' record
        positions, tf-adjusted levels use u_tf; without them, the plain u.
        """
        weight = np.full(len(gammas), self.prior_weight, dtype=np.float64)
        for c in self.comparisons:
            weight += self._comparison_bits(c, gammas, idx_l, idx_r, term_frequencies)
        return weight

    def bits(
        self,
        gammas: pd.DataFrame,
        idx_l: np.ndarray | None = None,
        idx_r: np.ndarray | None = None,
        term_frequencies: Mapping[str, np.ndarray] | None = None,
    ) -> pd.DataFrame:
        """The prior's and each comparison's bits per pair (columns `prior` and the comparison
        names, term-frequency adjustments included): each row sums to the match weight. The
        vectorized `explain`, for a whole review queue."""
        parts = {"prior": np.full(len(gammas), self.prior_weight, dtype=np.float64)}
        for c in self.comparisons:
            parts[c.name] = self._comparison_bits(c, gammas, idx_l, idx_r, term_frequencies)
        return pd.DataFrame(parts, index=gammas.index)

    @staticmethod
    def _comparison_bits(
        c: ComparisonParameters,
        gammas: pd.DataFrame,
        idx_l: np.ndarray | None,
        idx_r: np.ndarray | None,
        term_frequencies: Mapping[str, np.ndarray] | None,
    ) -> np.ndarray:
        gamma = gammas[c.gamma_column].to_numpy().astype(np.int64)
        bits = c.bayes_factor_bits()[gamma + 1]
        if c.tf_gamma is None or term_frequencies is None or c.name not in term_frequencies:
            return bits
        if idx_l is None or idx_r is None:
            raise ValueError("term-frequency adjustment needs the pairs' record positions")
        at_level = np.flatnonzero(gamma == c.tf_gamma)
        freq = term_frequencies[c.name]
        u_tf = np.fmax(freq[idx_l[at_level]], freq[idx_r[at_level]])
        usable = ~np.isnan(u_tf)
        bits[at_level[usable]] += np.log2(c.u[c.tf_gamma] / u_tf[usable])
        return bits

    @staticmethod
    def probability(weight: np.ndarray) -> np.ndarray:
        """2^w / (1 + 2^w), written to stay finite for large |w|."""
        # Beyond ±1000 bits the probability is 0 or 1 in doubles anyway; clipping avoids the
        # overflow warning of 2^1024.
        clipped = np.clip(np.asarray(weight, dtype=np.float64), -1000.0, 1000.0)
        return 1.0 / (1.0 + np.exp2(-clipped))

    def explain(
        self,
        pair_row: Mapping[str, Any] | pd.Series,
        records: pd.DataFrame | None = None,
        term_frequencies: Mapping[str, np.ndarray] | None = None,
    ) -> list[tuple[str, str, float]]:
        """(comparison, level label, bits) for the prior and every comparison of one pair.

        The bits sum to the pair's match weight. A pair at a tf-adjusted level needs the
        `records` it was scored with (to look its value's frequency up); when explaining many
        pairs pass `term_frequencies(records)` of that same frame too, to count only once.
        """

        def pair_frequencies(c: ComparisonParameters) -> tuple[float, float]:
            if records is None:
                raise ValueError(
                    f"{c.name!r} is at a term-frequency-adjusted level: pass the records"
                )
            tf = (
                term_frequencies if term_frequencies is not None else self.term_frequencies(records)
            )
            position = pd.Index(records["record_key"]).get_indexer(
                [pair_row["record_key_l"], pair_row["record_key_r"]]
            )
            if (position < 0).any():
                raise ValueError("the pair's records are not in `records`")
            left, right = tf[c.name][position]
            return float(left), float(right)

        gammas = {c.name: int(pair_row[c.gamma_column]) for c in self.comparisons}
        return self.explain_levels(gammas, pair_frequencies)

    def explain_levels(
        self,
        gammas: Mapping[str, int],
        pair_frequencies: Callable[[ComparisonParameters], tuple[float, float]],
    ) -> list[tuple[str, str, float]]:
        """`explain` from a pair's levels (`gammas`: comparison → gamma) and, asked only for a
        comparison at its tf-adjusted level, the term frequencies of the pair's two values:
        for a caller that knows the pair's record positions (`POST /match`) and need not look
        its record keys up."""
        lam = self.prior_match_probability
        parts: list[tuple[str, str, float]] = [("prior", f"λ = {lam:.6g}", self.prior_weight)]
        for c in self.comparisons:
            gamma = gammas[c.name]
            bits = float(c.bayes_factor_bits()[gamma + 1])
            label = c.label(gamma)
            if c.tf_gamma is not None and gamma == c.tf_gamma:
                u_tf = float(np.fmax(*pair_frequencies(c)))
                if not math.isnan(u_tf):
                    bits += math.log2(c.u[gamma] / u_tf)
                    label = f"{label} (term frequency {u_tf:.3g})"
            parts.append((c.name, label, bits))
        return parts

    # ------------------------------------------------------------------ artifact

    def to_json(self) -> str:
        payload = {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "config_hash": self.config_hash,
            "comparisons_hash": self.comparisons_hash,
            "prior_match_probability": self.prior_match_probability,
            "comparisons": [
                {
                    "name": c.name,
                    "tf": None
                    if c.tf_gamma is None
                    else {"gamma": c.tf_gamma, "column": c.tf_column},
                    "levels": [
                        {"gamma": g, "label": c.labels[g], "m": c.m[g], "u": c.u[g]}
                        for g in range(len(c.m))
                    ],
                }
                for c in self.comparisons
            ],
            "training": self.training,
        }
        # json writes floats with repr(), which reads back to the identical double.
        return json.dumps(payload, ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> FellegiSunterModel:
        payload = json.loads(text)
        if payload.get("format") != MODEL_FORMAT or payload.get("version") != MODEL_VERSION:
            raise ValueError("not a bank-mdm Fellegi-Sunter model (format/version differ)")
        comparisons = []
        for c in payload["comparisons"]:
            levels = sorted(c["levels"], key=lambda level: level["gamma"])
            tf = c["tf"]
            comparisons.append(
                ComparisonParameters(
                    name=c["name"],
                    labels=tuple(level["label"] for level in levels),
                    m=tuple(float(level["m"]) for level in levels),
                    u=tuple(float(level["u"]) for level in levels),
                    tf_gamma=None if tf is None else int(tf["gamma"]),
                    tf_column=None if tf is None else tf["column"],
                )
            )
        return cls(
            comparisons=comparisons,
            prior_match_probability=float(payload["prior_match_probability"]),
            config_hash=payload["config_hash"],
            comparisons_hash=payload["comparisons_hash"],
            training=payload.get("training", {}),
        )

    def check_compatible(self, config: MatchingConfig) -> None:
        if self.comparisons_hash != config.comparisons_hash():
            raise ValueError(
                "the model was trained on other comparisons than the config's "
                f"(model {self.comparisons_hash[:12]}, config {config.comparisons_hash()[:12]})"
            )


# ---------------------------------------------------------------------- estimation


def _record_frequencies(columns: RecordColumns, column: str) -> np.ndarray:
    codes = columns.codes(column)
    present = codes >= 0
    counts = np.bincount(codes[present])
    freq = np.full(len(codes), np.nan)
    if present.any():
        freq[present] = counts[codes[present]] / present.sum()
    return freq


def sample_random_pairs(
    n: int,
    n_pairs: int,
    *,
    source: np.ndarray | None = None,
    link_type: LinkType = "link_and_dedupe",
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Random comparable pairs (l < r), seeded; every pair when there are few enough."""
    rng = np.random.default_rng(seed)

    def comparable(left: np.ndarray, right: np.ndarray) -> np.ndarray:
        if source is None or link_type == "link_and_dedupe":
            return np.ones(len(left), dtype=bool)
        same = source[left] == source[right]
        return same if link_type == "dedupe_only" else ~same

    if n * (n - 1) // 2 <= n_pairs:
        left, right = np.triu_indices(n, k=1)
        keep = comparable(left, right)
        return left[keep].astype(np.int64), right[keep].astype(np.int64)

    lefts: list[np.ndarray] = []
    rights: list[np.ndarray] = []
    found = 0
    # Rejection sampling; bounded so a link_only set with one tiny source cannot spin forever.
    for _ in range(50):
        a = rng.integers(0, n, size=2 * n_pairs)
        b = rng.integers(0, n, size=2 * n_pairs)
        left, right = np.minimum(a, b), np.maximum(a, b)
        keep = (left != right) & comparable(left, right)
        lefts.append(left[keep])
        rights.append(right[keep])
        found += int(keep.sum())
        if found >= n_pairs:
            break
    return np.concatenate(lefts)[:n_pairs], np.concatenate(rights)[:n_pairs]


def _level_counts(
    gamma: np.ndarray, n_levels: int, weights: np.ndarray | None = None
) -> np.ndarray:
    valid = gamma >= 0
    w = None if weights is None else weights[valid]
    return np.bincount(gamma[valid], weights=w, minlength=n_levels).astype(np.float64)


def estimate_u(
    columns: RecordColumns,
    comparisons: Sequence[Comparison],
    idx_l: np.ndarray,
    idx_r: np.ndarray,
    *,
    workers: int = 1,
) -> dict[str, np.ndarray]:
    """u per level from the random pairs given.

    A level never seen among the random pairs (an exact resident ID, typically) gets half a
    pair instead of zero, so its weight is large but finite.
    """
    gammas = compare_pairs(columns, idx_l, idx_r, comparisons, workers=workers)
    u: dict[str, np.ndarray] = {}
    for c in comparisons:
        counts = _level_counts(gammas[c.gamma_column].to_numpy(), c.n_levels)
        counts[counts == 0] = 0.5
        u[c.name] = counts / counts.sum()
    return u


def initial_m(n_levels: int) -> np.ndarray:
    """Prior m: each level four times as likely among matches as the next weaker one."""
    m = 4.0 ** np.arange(n_levels)
    return m / m.sum()


def unique_patterns(
    gammas: pd.DataFrame, comparisons: Sequence[Comparison]
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct gamma rows (n_patterns × n_comparisons) and how many pairs have each.

    Rows are packed into one mixed-radix integer (gamma + 1 per digit) so the count is a 1-D
    unique, much faster than `np.unique(axis=0)`; it falls back to that if the code would
    not fit in 63 bits.
    """
    radices = [c.n_levels + 1 for c in comparisons]
    if math.prod(radices) >= 2**62:
        matrix = np.column_stack([gammas[c.gamma_column].to_numpy() for c in comparisons])
        return np.unique(matrix.astype(np.int64), axis=0, return_counts=True)
    code = np.zeros(len(gammas), dtype=np.int64)
    for c, radix in zip(comparisons, radices, strict=True):
        code = code * radix + (gammas[c.gamma_column].to_numpy().astype(np.int64) + 1)
    codes, counts = np.unique(code, return_counts=True)
    patterns = np.empty((len(codes), len(comparisons)), dtype=np.int64)
    for j in range(len(comparisons) - 1, -1, -1):
        patterns[:, j] = codes % radices[j] - 1
        codes = codes // radices[j]
    return patterns, counts


@dataclass
class EMResult:
    m: dict[str, np.ndarray]
    prior_match_probability: float
    iterations: int
    converged: bool
    expected_matches: float


def expectation_maximisation(
    gammas: pd.DataFrame,
    comparisons: Sequence[Comparison],
    u: Mapping[str, np.ndarray],
    comparable_pairs: int,
    *,
    max_iterations: int = 100,
    tolerance: float = 1e-6,
) -> EMResult:
    """m and λ by EM over the unique gamma patterns of the candidate pairs, u fixed.

    M-step for m adds a Dirichlet pseudo-count of one expected match spread evenly over a
    comparison's levels, so a level no match shows (yet) gets a small m rather than zero.
    """
    names = [c.name for c in comparisons]
    patterns, counts = unique_patterns(gammas, comparisons)
    counts = counts.astype(np.float64)
    n_candidates = float(counts.sum())
    total = float(max(comparable_pairs, 1))

    m = {c.name: initial_m(c.n_levels) for c in comparisons}
    lam = min(max(0.5 * n_candidates / total, 1e-12), 0.5)
    log_u = [np.concatenate([[0.0], np.log2(u[name])]) for name in names]
    converged = False
    iterations = 0
    expected = 0.0
    while iterations < max_iterations:
        iterations += 1
        # E-step: posterior match probability of each pattern.
        logit = np.full(len(patterns), math.log2(lam / (1.0 - lam)))
        for j, name in enumerate(names):
            log_m = np.concatenate([[0.0], np.log2(m[name])])
            logit += log_m[patterns[:, j] + 1] - log_u[j][patterns[:, j] + 1]
        posterior = FellegiSunterModel.probability(logit)
        expected_by_pattern = posterior * counts
        expected = float(expected_by_pattern.sum())

        # M-step.
        new_lam = min(max(expected / total, _PROBABILITY_FLOOR), 0.5)
        new_m = {}
        for j, c in enumerate(comparisons):
            level_mass = _level_counts(patterns[:, j], c.n_levels, expected_by_pattern)
            level_mass += 1.0 / c.n_levels
            new_m[c.name] = level_mass / level_mass.sum()
        change = max(float(np.abs(new_m[name] - m[name]).max()) for name in names)
        change = max(change, abs(new_lam - lam) / lam)
        m, lam = new_m, new_lam
        if change < tolerance:
            converged = True
            break
    return EMResult(
        m=m,
        prior_match_probability=lam,
        iterations=iterations,
        converged=converged,
        expected_matches=expected,
    )


def build_model(
    config: MatchingConfig,
    m: Mapping[str, np.ndarray],
    u: Mapping[str, np.ndarray],
    prior_match_probability: float,
    training: dict[str, Any] | None = None,
) -> FellegiSunterModel:
    parameters = []
    for c in config.comparisons:
        tf_positions = [i for i, level in enumerate(c.levels) if level.tf_adjust]
        tf_gamma = c.level_number(tf_positions[0]) if tf_positions else None
        tf_column = c.levels[tf_positions[0]].column if tf_positions else None
        parameters.append(
            ComparisonParameters(
                name=c.name,
                labels=tuple(c.level_label(g) for g in range(c.n_levels)),
                m=tuple(float(x) for x in np.fmax(m[c.name], _PROBABILITY_FLOOR)),
                u=tuple(float(x) for x in np.fmax(u[c.name], _PROBABILITY_FLOOR)),
                tf_gamma=tf_gamma,
                tf_column=tf_column,
            )
        )
    return FellegiSunterModel(
        comparisons=parameters,
        prior_match_probability=float(prior_match_probability),
        config_hash=config.config_hash(),
        comparisons_hash=config.comparisons_hash(),
        training=training or {},
    )


def train_model(
    columns: RecordColumns,
    config: MatchingConfig,
    candidate_gammas: pd.DataFrame,
    comparable_pairs: int,
    *,
    source: np.ndarray | None = None,
    seed: int = 0,
    workers: int = 1,
    excluded_pairs: int = 0,
) -> FellegiSunterModel:
    """u from random pairs, then m and λ by EM on the candidates' comparison vectors
    (`excluded_pairs`: how many candidates the caller left out, for the record)."""
    settings = config.training
    sample_l, sample_r = sample_random_pairs(
        len(columns),
        settings.u_sample_pairs,
        source=source,
        link_type=config.link_type,
        seed=seed,
    )
    u = estimate_u(columns, config.comparisons, sample_l, sample_r, workers=workers)
    em = expectation_maximisation(
        candidate_gammas,
        config.comparisons,
        u,
        comparable_pairs,
        max_iterations=settings.em_max_iterations,
        tolerance=settings.em_tolerance,
    )
    training = {
        "seed": seed,
        "n_records": len(columns),
        "u_sample_pairs": len(sample_l),
        "candidate_pairs": len(candidate_gammas) + excluded_pairs,
        "em_pairs": len(candidate_gammas),
        "comparable_pairs": comparable_pairs,
        "em_iterations": em.iterations,
        "em_converged": em.converged,
        "expected_matches": em.expected_matches,
    }
    return build_model(config, em.m, u, em.prior_match_probability, training)

"""The `matching:` section of mdm.yaml as validated data.

Blocking rules, comparisons and deterministic rules are values, not code paths (the Splink
way): the engine reads them from here and nothing else decides how records are matched.
`MatchingConfig.model_validate(mapping)` raises a pydantic `ValidationError` whose location
names the offending key (e.g. `comparisons.2.levels.1.max_distance`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from matching.keys import is_many

LevelKind = Literal[
    "exact",
    "levenshtein",
    "damerau_levenshtein",
    "jaro_winkler",
    "token_set_ratio",
    "token_sort_ratio",
    "date_day_month_swap",
    "date_within_days",
    "visible_agree",
]

# Which numeric parameter each level kind needs; every other parameter is refused so a typo
# such as `threshold` on a levenshtein level fails loudly instead of being ignored.
_LEVEL_PARAMETER: dict[str, str | None] = {
    "exact": None,
    "levenshtein": "max_distance",
    "damerau_levenshtein": "max_distance",
    "jaro_winkler": "threshold",
    "token_set_ratio": "threshold",
    "token_sort_ratio": "threshold",
    "date_day_month_swap": None,
    "date_within_days": "max_days",
    "visible_agree": "min_visible",
}

LinkType = Literal["link_and_dedupe", "dedupe_only", "link_only"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _unique_names(items: list[Any], what: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item.name in seen:
            raise ValueError(f"duplicate {what} name {item.name!r}")
        seen.add(item.name)


class BlockingRule(_Strict):
    """Record pairs that share every one of `columns` (all non-null) become candidates."""

    name: str = Field(min_length=1, description="the rule's name in logs and `mdm evaluate`")
    columns: list[str] = Field(
        min_length=1, description="match keys (`matching/keys.py`) a pair must share, all non-null"
    )
    # Common names' big blocks (pinyin + birth year) cost most and are the weakest evidence.
    max_block_size: int | None = Field(
        default=None,
        ge=2,
        description="a smaller cap than the section's `max_block_size` for this rule's blocks",
    )

    @model_validator(mode="after")
    def _one_key_of_several_values(self) -> Self:
        many = [column for column in self.columns if is_many(column)]
        if len(many) > 1:
            raise ValueError(f"at most one key with several values per record in a rule: {many}")
        return self


class ComparisonLevel(_Strict):
    """One level of a comparison: a similarity test on one column."""

    kind: LevelKind = Field(description="the similarity test; each kind takes one parameter")
    column: str = Field(min_length=1, description="the standardized column or match key tested")
    label: str | None = Field(
        default=None, description="the level's name in rules (`when.levels`) and explanations"
    )
    max_distance: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="(damerau_)levenshtein: edits allowed"
    )
    threshold: Annotated[float, Field(gt=0.0, le=1.0)] | None = Field(
        default=None, description="jaro_winkler / token_*_ratio: least similarity, 0-1"
    )
    max_days: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="date_within_days: most days apart"
    )
    # A masked position is `*` (`matching.keys.id_visible`). Never an exact match: a level of
    # its own, below the exact one.
    min_visible: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="visible_agree: every position visible in both agrees, and at least this "
        "many are visible in both",
    )
    # A cross level never counts as present for the comparison's null: only the same column on
    # both sides does.
    other_column: str | None = Field(
        default=None,
        description="exact only: `column` on one side equals this column on the other (a "
        "mobile among the other record's numbers)",
    )
    # Splink's `term_frequency_adjustments`.
    tf_adjust: bool = Field(
        default=False,
        description="exact only: u is the frequency of the pair's value, so a common value "
        "is weaker evidence than a rare one",
    )

    @model_validator(mode="after")
    def _parameters_fit_kind(self) -> Self:
        needed = _LEVEL_PARAMETER[self.kind]
        for parameter in ("max_distance", "threshold", "max_days", "min_visible"):
            given = getattr(self, parameter) is not None
            if parameter == needed and not given:
                raise ValueError(f"level kind {self.kind!r} needs {parameter!r}")
            if parameter != needed and given:
                raise ValueError(f"level kind {self.kind!r} takes no {parameter!r}")
        if self.tf_adjust and self.kind != "exact":
            raise ValueError("tf_adjust is only allowed on an exact level")
        if self.other_column is not None and (self.kind != "exact" or self.tf_adjust):
            raise ValueError("other_column is only allowed on an exact level without tf_adjust")
        return self

    @model_validator(mode="after")
    def _several_values_only_shared(self) -> Self:
        # A key with several values per record (`matching.keys.Items`) has no single value to
        # measure a distance or a frequency on: the only test is whether the two share one.
        if is_many(self.column) and (
            self.kind != "exact" or self.tf_adjust or self.other_column is not None
        ):
            raise ValueError(
                f"{self.column!r} has several values per record: only a plain exact level "
                "(an item shared) may use it"
            )
        return self

    @property
    def display_label(self) -> str:
        if self.label:
            return self.label
        match self.kind:
            case "exact" if self.other_column:
                return f"{self.column} among the other's {self.other_column}"
            case "exact":
                return f"exact {self.column}"
            case "levenshtein" | "damerau_levenshtein":
                return f"{self.column} {self.kind} <= {self.max_distance}"
            case "jaro_winkler" | "token_set_ratio" | "token_sort_ratio":
                return f"{self.column} {self.kind} >= {self.threshold}"
            case "date_within_days":
                return f"{self.column} within {self.max_days} days"
            case "visible_agree":
                return f"{self.column} visible positions agree (at least {self.min_visible})"
            case _:
                return f"{self.column} day and month swapped"


class Comparison(_Strict):
    """A named field comparison: levels most similar first, the first that holds wins.

    Level numbers count down: with k levels the first is k, the last 1, and 0 means none
    held ("else"); -1 means no level's column was present on both sides (null).
    """

    name: str = Field(
        min_length=1,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="the comparison's name (its gamma column is `gamma_<name>`)",
    )
    levels: list[ComparisonLevel] = Field(
        min_length=1, description="most similar first; the first level that holds wins"
    )

    @model_validator(mode="after")
    def _at_most_one_tf_level(self) -> Self:
        if sum(level.tf_adjust for level in self.levels) > 1:
            raise ValueError(f"comparison {self.name!r}: at most one level may set tf_adjust")
        return self

    @property
    def gamma_column(self) -> str:
        return f"gamma_{self.name}"

    @property
    def n_levels(self) -> int:
        """Number of level values besides null: the configured levels plus "else"."""
        return len(self.levels) + 1

    def level_label(self, gamma: int) -> str:
        if gamma < 0:
            return "null"
        if gamma == 0:
            return "else"
        return self.levels[len(self.levels) - gamma].display_label

    def gamma_of_label(self, label: str) -> int:
        """Gamma of `else`, `missing` (or `null`) or the level whose `label` is given."""
        if label in ("missing", "null"):
            return -1
        if label == "else":
            return 0
        for position, level in enumerate(self.levels):
            if level.label == label:
                return self.level_number(position)
        known = ["missing", "else", *(level.label for level in self.levels if level.label)]
        raise ValueError(f"comparison {self.name!r} has no level labelled {label!r}: {known}")

    def level_number(self, position: int) -> int:
        """Gamma value of the level at `position` in the configured list."""
        return len(self.levels) - position

    @property
    def columns(self) -> list[str]:
        named = [c for level in self.levels for c in (level.column, level.other_column) if c]
        return list(dict.fromkeys(named))


class RuleCondition(_Strict):
    """When a deterministic rule holds, all conditions over both records of the pair.

    `equal`: every listed column non-null on both sides and equal. `different`: every listed
    column non-null on both sides and different. `both_missing`: every listed column null on
    both sides. `id_valid: true`: both records' `id_valid` is true; `false`: not both.
    `levels`: for each named comparison, the pair's level is one of those listed, by level
    `label`, `else` (no level held) or `missing` (not comparable: gamma -1, also accepted as
    the string "null") — e.g. `{name: [else, missing]}`.
    """

    equal: list[str] = Field(
        default_factory=list, description="columns non-null on both sides and equal"
    )
    different: list[str] = Field(
        default_factory=list, description="columns non-null on both sides and different"
    )
    both_missing: list[str] = Field(default_factory=list, description="columns null on both sides")
    id_valid: bool | None = Field(
        default=None, description="true: both records' IDs are valid; false: not both"
    )
    levels: dict[str, list[str]] = Field(
        default_factory=dict,
        description="comparison name -> level labels (or `else`, `missing`) the pair is at",
    )

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not (self.equal or self.different or self.both_missing or self.levels) and (
            self.id_valid is None
        ):
            raise ValueError(
                "a rule condition needs one of equal, different, both_missing, id_valid, levels"
            )
        for comparison, labels in self.levels.items():
            if not labels:
                raise ValueError(f"levels.{comparison}: list at least one level")
        return self

    @model_validator(mode="after")
    def _single_valued(self) -> Self:
        many = [c for c in (*self.equal, *self.different, *self.both_missing) if is_many(c)]
        if many:
            raise ValueError(f"keys with several values per record cannot be compared: {many}")
        return self

    @property
    def columns(self) -> list[str]:
        extra = ["id_valid"] if self.id_valid is not None else []
        return list(dict.fromkeys([*self.equal, *self.different, *self.both_missing, *extra]))


class DeterministicRule(_Strict):
    """`match`: the pair is a match (probability 1, auto_match), whatever the model says.
    `never_auto_match`: the pair may not be auto-matched (capped at review) nor end up in the
    same cluster through other records.
    `never_chained`: the pair keeps its own zone, but its two records share a cluster only
    through their own auto-match, never through other records (namesakes born the same day,
    each with a valid ID of their own, bridged by a record that has no ID).
    `cap_at_review`: the pair itself may not be auto-matched (capped at review), but its
    records may share a cluster through other records: the evidence between the two is too
    thin to merge on, not evidence of two people (a masked ID's few visible digits alone)."""

    name: str = Field(min_length=1, description="the rule's name in xref and explanations")
    decision: Literal["match", "never_auto_match", "never_chained", "cap_at_review"] = Field(
        description="what holds for a pair the rule applies to (see above)"
    )
    when: RuleCondition = Field(description="the conditions, all of which must hold")
    # Relatives sharing phone, address and surname are correlated non-matches the model's
    # independence assumption cannot explain. A rule whose pairs are mostly plain non-matches,
    # or matches m should learn from, sets it false.
    exclude_from_training: bool = Field(
        default=True,
        description="never_auto_match only: EM leaves the rule's pairs out of training",
    )


class Thresholds(_Strict):
    """Match probability cut-offs of the three zones."""

    auto_match: float = Field(
        gt=0.0, le=1.0, description="a pair at or above this probability is merged"
    )
    review: float = Field(
        gt=0.0, le=1.0, description="at or above this (below auto_match) a steward decides"
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.review > self.auto_match:
            raise ValueError("thresholds.review must not exceed thresholds.auto_match")
        return self


class Training(_Strict):
    """How the Fellegi-Sunter model is estimated (defaults suit a bank's customer base)."""

    u_sample_pairs: int = Field(
        default=200_000, ge=100, description="random record pairs u is estimated from"
    )
    em_max_iterations: int = Field(default=100, ge=1, description="EM iterations at most")
    em_tolerance: float = Field(
        default=1e-6, gt=0.0, description="EM stops when no parameter moves more than this"
    )
    lookalike_min_support: int = Field(
        default=2,
        ge=1,
        description="candidate pairs agreeing on ID and birth date that must show a character "
        "substitution before it counts as a look-alike (`matching/lookalikes.py`)",
    )


class MatchingConfig(_Strict):
    blocking_rules: list[BlockingRule] = Field(
        min_length=1, description="candidate pairs: the union of every rule's pairs"
    )
    max_block_size: int = Field(
        ge=2, description="a block larger than this is skipped and counted (never named)"
    )
    comparisons: list[Comparison] = Field(
        min_length=1, description="the Fellegi-Sunter model's comparisons"
    )
    deterministic_rules: list[DeterministicRule] = Field(
        default_factory=list, description="rules that override or cap the model's zone"
    )
    thresholds: Thresholds = Field(description="the zones' probability cut-offs")
    max_cluster_size: int = Field(
        ge=2, description="a cluster larger than this is split at its weakest links"
    )
    link_type: LinkType = Field(
        default="link_and_dedupe",
        description="`link_only`: pairs across source systems only; `dedupe_only`: within one; "
        "`link_and_dedupe`: any two records",
    )
    source_column: str = Field(
        default="source_system", description="the column naming a record's source system"
    )
    training: Training = Field(default_factory=Training, description="how the model is estimated")

    @model_validator(mode="after")
    def _names_unique(self) -> Self:
        _unique_names(self.blocking_rules, "blocking rule")
        _unique_names(self.comparisons, "comparison")
        _unique_names(self.deterministic_rules, "deterministic rule")
        return self

    @model_validator(mode="after")
    def _rule_levels_exist(self) -> Self:
        comparisons = {c.name: c for c in self.comparisons}
        for rule in self.deterministic_rules:
            for name, labels in rule.when.levels.items():
                if name not in comparisons:
                    raise ValueError(f"rule {rule.name!r}: no comparison named {name!r}")
                for label in labels:
                    comparisons[name].gamma_of_label(label)  # raises if unknown
        return self

    @property
    def required_columns(self) -> list[str]:
        """Columns the records must carry besides `record_key`."""
        columns: list[str] = []
        for rule in self.blocking_rules:
            columns += rule.columns
        for comparison in self.comparisons:
            columns += comparison.columns
        for det in self.deterministic_rules:
            columns += det.when.columns
        if self.link_type != "link_and_dedupe":
            columns.append(self.source_column)
        return list(dict.fromkeys(columns))

    def config_hash(self) -> str:
        """Hash of the whole section: provenance of a trained model."""
        return _hash(self.model_dump(mode="json"))

    def comparisons_hash(self) -> str:
        """Hash of what the m/u tables mean: a model only applies to the same comparisons."""
        return _hash([c.model_dump(mode="json") for c in self.comparisons])


def _hash(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

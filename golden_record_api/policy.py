"""The access policy: roles → scopes, and every served field → its class and, per role, clear /
masked / absent. The one module that applies it to a row (`AccessPolicy.apply`).

The policy lives in `access_policy.yaml` beside this module (or `Settings.access_policy_path`)
and is validated when the app starts: an unknown role, scope, mask or key, a profile that
forgets a role, a masked field without a mask, or a field that would rebuild a value masked
for a role (`absent_unless_clear`) stops the app with the offending key named.

Default deny: a column a row carries but the policy does not list is never served.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from golden_record_api.masking import MASKS, Masker
from golden_record_api.principal import ROLES, SCOPES, Role

DEFAULT_POLICY_PATH = Path(__file__).with_name("access_policy.yaml")

Access = Literal["clear", "masked", "absent"]
DataClass = Literal["C1", "C2", "C3"]
Dataset = Literal[
    "golden_record",
    "source_record",
    "history",
    "customer_360",
    "customer_account",
    "customer_loan",
    "customer_ticket",
    "household_member",
    "lineage",
    "event",
    "change",
    "source_record_link",
    "rm_task",
    "kpi_service",
    "kpi_loans",
    "kpi_mdm",
    "kpi_mdm_sources",
]
PERSONAL_CLASSES = frozenset({"C2", "C3"})


class PolicyError(ValueError):
    """The access policy file is missing or malformed; the message names the bad key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RoleSpec(_Strict):
    scopes: frozenset[str]
    purpose_required: bool = Field(
        default=False, description="Its reads of personal data must give an `X-Purpose`"
    )

    @model_validator(mode="after")
    def _known_scopes(self) -> RoleSpec:
        unknown = sorted(self.scopes - set(SCOPES))
        if unknown:
            raise ValueError(f"unknown scope(s) {unknown}; known: {list(SCOPES)}")
        return self


class PurposeSpec(_Strict):
    """A purpose of use a caller may give: its labels (the code is the key)."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


# A purpose code: short, lower-case ASCII, so it can be sent in a header and grepped in a log.
PURPOSE_CODE = r"^[a-z][a-z0-9_]{0,39}$"


class FieldRule(_Strict):
    data_class: DataClass = Field(alias="class")
    access: str | dict[Role, Access] = Field(
        description="A profile's name or a map of every role to clear / masked / absent"
    )
    mask: str | None = None
    absent_unless_clear: str | None = None


class PolicyFile(_Strict):
    roles: dict[Role, RoleSpec]
    purposes: dict[Annotated[str, StringConstraints(pattern=PURPOSE_CODE)], PurposeSpec] = Field(
        default_factory=dict
    )
    profiles: dict[str, dict[Role, Access]] = Field(default_factory=dict)
    datasets: dict[Dataset, dict[str, FieldRule]]

    @model_validator(mode="after")
    def _complete_and_consistent(self) -> PolicyFile:
        missing_roles = [role for role in ROLES if role not in self.roles]
        if missing_roles:
            raise ValueError(f"roles: no entry for {missing_roles}")
        for name, profile in self.profiles.items():
            if forgotten := [role for role in ROLES if role not in profile]:
                raise ValueError(f"profiles.{name}: no access given for {forgotten}")
        for dataset, fields in self.datasets.items():
            for name, rule in fields.items():
                where = f"datasets.{dataset}.{name}"
                access = self.access_of(rule, where)
                if "masked" in access.values():
                    if rule.mask is None:
                        raise ValueError(f"{where}: some role sees it masked but no mask is named")
                    if rule.mask not in MASKS:
                        raise ValueError(
                            f"{where}.mask: unknown mask {rule.mask!r}; known: {sorted(MASKS)}"
                        )
                guarded = rule.absent_unless_clear
                if guarded is None:
                    continue
                if guarded not in fields:
                    raise ValueError(f"{where}.absent_unless_clear: no field {guarded!r} here")
                guarded_access = self.access_of(fields[guarded], f"datasets.{dataset}.{guarded}")
                for role in ROLES:
                    if guarded_access[role] != "clear" and access[role] != "absent":
                        raise ValueError(
                            f"{where}: role {role!r} would see it {access[role]} while"
                            f" {guarded} is {guarded_access[role]}, which it would rebuild"
                        )
        return self

    def access_of(self, rule: FieldRule, where: str) -> dict[Role, Access]:
        if isinstance(rule.access, str):
            if rule.access not in self.profiles:
                raise ValueError(
                    f"{where}.access: unknown profile {rule.access!r}; known: {list(self.profiles)}"
                )
            return self.profiles[rule.access]
        if forgotten := [role for role in ROLES if role not in rule.access]:
            raise ValueError(f"{where}.access: no access given for {forgotten}")
        return rule.access


@dataclass(frozen=True)
class _Step:
    name: str
    personal: bool
    mask: Masker | None  # None: served as it is


class AccessPolicy:
    """A validated policy, with a precomputed plan per (dataset, role) for speed."""

    def __init__(self, document: PolicyFile) -> None:
        self.document = document
        self._plans: dict[tuple[str, str], tuple[_Step, ...]] = {}
        for dataset, fields in document.datasets.items():
            for role in ROLES:
                steps = []
                for name, rule in fields.items():
                    access = document.access_of(rule, name)[role]
                    if access == "absent":
                        continue
                    mask = MASKS[rule.mask] if access == "masked" and rule.mask else None
                    personal = rule.data_class in PERSONAL_CLASSES and access == "clear"
                    steps.append(_Step(name, personal, mask))
                self._plans[(dataset, role)] = tuple(steps)

    def scopes(self, role: Role) -> frozenset[str]:
        return self.document.roles[role].scopes

    @property
    def purposes(self) -> dict[str, PurposeSpec]:
        return self.document.purposes

    def purpose_required(self, role: Role) -> bool:
        return self.document.roles[role].purpose_required

    @cached_property
    def datasets(self) -> dict[str, frozenset[str]]:
        return {name: frozenset(fields) for name, fields in self.document.datasets.items()}

    def access(self, dataset: Dataset, field: str, role: Role) -> Access:
        rule = self.document.datasets[dataset][field]
        return self.document.access_of(rule, field)[role]

    def apply(
        self, dataset: Dataset, row: Mapping[str, Any], role: Role
    ) -> tuple[dict[str, Any], set[str]]:
        """The row as `role` may see it, and the personal fields it carries in clear.

        Clear fields are named `dataset.field` and counted only when they hold a value.
        """
        out: dict[str, Any] = {}
        clear: set[str] = set()
        for step in self._plans[(dataset, role)]:
            if step.name not in row:
                continue
            value = row[step.name]
            if step.mask is not None:
                value = step.mask(value, row)
            elif step.personal and value is not None:
                clear.add(f"{dataset}.{step.name}")
            out[step.name] = value
        return out, clear


def load_policy(path: Path | None = None) -> AccessPolicy:
    """Read and validate a policy file; `PolicyError` names the bad key."""
    path = path or DEFAULT_POLICY_PATH
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"access policy {path} cannot be read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"access policy {path} is not valid YAML: {exc}") from exc
    try:
        return AccessPolicy(PolicyFile.model_validate(document))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(top level)'}: {error['msg']}"
            for error in exc.errors()
        )
        raise PolicyError(f"access policy {path} is malformed: {problems}") from exc

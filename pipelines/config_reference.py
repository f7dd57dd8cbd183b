"""docs/CONFIG_REFERENCE.md, generated from the config schema and the canonical field lists.

    .venv/bin/python -m pipelines.config_reference      # rewrite the reference

The reference is never written by hand: every key comes from the pydantic models mdm.yaml is
validated with, every canonical field from its one home (`CANONICAL_FIELDS`, `ENTITIES`), every
quality rule from the catalogue; `tests/pipelines/test_config_reference.py` fails when the file
and the schema differ.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from connectors.entities import ENTITIES
from connectors.settings import PROJECT_ROOT
from matching.standardize.party import CANONICAL_FIELDS
from pipelines.mdm_config import DEFAULTED_SECTIONS, MdmConfig
from quality.catalogue import RULES

REFERENCE_PATH = PROJECT_ROOT / "docs" / "CONFIG_REFERENCE.md"

_HEADER = """# Configuration reference

Generated from the schema by `python -m pipelines.config_reference`; do not edit by hand (a
test compares this file with the schema). The README's "Pointing it at your own sources" walks
through a whole example; `mdm check --config FILE` tells what a given file gets wrong.

A file needs `sources:`; {defaulted} may be left out, and are then the shipped `mdm.yaml`'s.
Relative paths (and `sqlite:///` URLs) are resolved against the config file's folder.
"""


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{value}`" for value in get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        parts = [_type_name(arg) for arg in get_args(annotation) if arg is not type(None)]
        optional = type(None) in get_args(annotation)
        return " or ".join(parts) + (" (optional)" if optional else "")
    if origin is typing.Annotated:
        return _type_name(get_args(annotation)[0])
    if origin in (list, tuple):
        return f"list of {_type_name(get_args(annotation)[0])}"
    if origin is dict:
        key, value = get_args(annotation)
        return f"map {_type_name(key)} → {_type_name(value)}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
        return "" if value in ({}, [], None) else "(see type)"
    if field.default is PydanticUndefined or field.default is None:
        return ""
    return '`""`' if field.default == "" else f"`{field.default}`"


def _models(model: type[BaseModel], seen: dict[str, type[BaseModel]]) -> None:
    """Every model reachable from `model`, depth first, each once."""
    if model.__name__ in seen:
        return
    seen[model.__name__] = model
    for field in model.model_fields.values():
        for nested in _nested(field.annotation):
            _models(nested, seen)


def _nested(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [found for arg in get_args(annotation) for found in _nested(arg)]


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def _threshold_of(name: str) -> str:
    """A quality threshold's meaning: the rules whose pass mark it sets."""
    rules = [rule for rule in RULES if rule.threshold == name]
    if not rules:
        return ""
    described = "; ".join(f"`{r.rule_id}`: {_one_line(r.description)}" for r in rules)
    return f"pass mark of {described}"


def _model_section(model: type[BaseModel]) -> list[str]:
    lines = [f"### {model.__name__}", ""]
    doc = _one_line(model.__doc__)
    if doc:
        lines += [doc, ""]
    lines += ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        meaning = _one_line(field.description) or _threshold_of(name)
        lines.append(
            f"| `{field.alias or name}` | {_type_name(field.annotation)} | {_default(field)} "
            f"| {meaning} |"
        )
    return [*lines, ""]


def render() -> str:
    """The whole reference as Markdown."""
    seen: dict[str, type[BaseModel]] = {}
    _models(MdmConfig, seen)
    defaulted = ", ".join(f"`{name}:`" for name in DEFAULTED_SECTIONS)
    lines = [_HEADER.format(defaulted=defaulted), "## Keys", ""]
    for model in seen.values():
        lines += _model_section(model)
    lines += [
        "## Canonical party fields",
        "",
        "What `sources.<name>.mapping` may map (canonical field → the party table's column); "
        "`name` or `name_latin` is required, every other field may be left out.",
        "",
        "| field | meaning |",
        "|---|---|",
        *(f"| `{name}` | {_one_line(meaning)} |" for name, meaning in CANONICAL_FIELDS.items()),
        "",
        "## Canonical activity entities",
        "",
        "What `sources.<name>.entities.<entity>.mapping` may map. Every entity's table is "
        "written on each run (empty when no source maps it) and dbt's marts read only these "
        "tables. A `code` field takes the listed values; a source's own codes are translated "
        "by `entities.<entity>.codes.<field>` (a value already canonical needs no entry; any "
        "other becomes `other` and is counted by `std.activity_codes_known`). A value that "
        "does not parse is NULL and counted by `std.activity_values_parse`.",
        "",
    ]
    for entity in ENTITIES.values():
        lines += [
            f"### `{entity.name}` → `{entity.table}`",
            "",
            _one_line(entity.description),
            "",
            "| field | kind | required | values | meaning |",
            "|---|---|---|---|---|",
        ]
        for field in entity.fields:
            values = ", ".join(f"`{v}`" for v in field.values)
            lines.append(
                f"| `{field.name}` | {field.kind} | {'yes' if field.required else ''} | "
                f"{values} | {_one_line(field.description)} |"
            )
        lines.append("")
    lines += [
        "## Quality rules",
        "",
        "Rule ids for `quality.severity` and `sources.<name>.quality.severity`; the threshold "
        "key is set under `quality:` (and, for a source's own rules, `sources.<name>.quality`).",
        "",
        "| rule | stage | severity | threshold key | checks |",
        "|---|---|---|---|---|",
        *(
            f"| `{rule.rule_id}` | {rule.stage} | {rule.severity} | "
            f"{'`' + rule.threshold + '`' if rule.threshold else ''} | "
            f"{_one_line(rule.description)} |"
            for rule in RULES
        ),
        "",
    ]
    return "\n".join(lines)


def write(path: Path = REFERENCE_PATH) -> Path:
    path.write_text(render(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"wrote {write()}")

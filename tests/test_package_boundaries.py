"""The packages meet through their public surfaces.

Read from the source (no import runs): the library packages never import the orchestration or
the web framework, nobody imports another package's private module or name, and nobody imports
Dagster's private modules (they change without notice between the lock-step releases).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OWN_PACKAGES = ("matching", "quality", "connectors", "pipelines", "golden_record_api")
CHECKED = (*OWN_PACKAGES, "benchmarks", "scripts")
#: What each library package must never import: they run without Dagster and without a server.
FORBIDDEN = {
    "matching": (
        "dagster",
        "dagster_dbt",
        "fastapi",
        "starlette",
        "pipelines",
        "golden_record_api",
    ),
    "quality": ("dagster", "dagster_dbt", "fastapi", "starlette", "pipelines", "golden_record_api"),
    "connectors": (
        "dagster",
        "dagster_dbt",
        "fastapi",
        "starlette",
        "pipelines",
        "golden_record_api",
    ),
}


def _imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, names) of every import in a file, relative ones made absolute."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            yield node.lineno, module, [alias.name for alias in node.names]


def _sources() -> list[Path]:
    return sorted(
        path
        for top in CHECKED
        if (ROOT / top).is_dir()
        for path in (ROOT / top).rglob("*.py")
        if ".venv" not in path.parts
    )


def _top(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_stay_within_public_surfaces(path: Path) -> None:
    home = path.relative_to(ROOT).parts[0]
    problems = []
    for line, module, names in _imports(path):
        top = _top(module)
        where = f"{path.relative_to(ROOT)}:{line}"
        if top in FORBIDDEN.get(home, ()):
            problems.append(f"{where}: {home}/ imports {module}")
        if top == "dagster" and any(part.startswith("_") for part in module.split(".")[1:]):
            problems.append(f"{where}: private Dagster module {module}")
        if top in OWN_PACKAGES and top != home:
            private = [p for p in module.split(".")[1:] if p.startswith("_")]
            if private:
                problems.append(f"{where}: another package's private module {module}")
            hidden = [n for n in names if n.startswith("_") and n != "__version__"]
            if hidden:
                problems.append(f"{where}: another package's private names {hidden}")
    assert not problems, "\n".join(problems)


def test_the_check_sees_a_private_import(tmp_path: Path) -> None:
    """The parser resolves what the rule needs: a relative import, a private module."""
    sample = ROOT / "connectors" / "_probe_for_test.py"
    sample.write_text(
        "from matching.standardize._text import as_text\nfrom ._x import y\nimport dagster\n",
        encoding="utf-8",
    )
    try:
        found = list(_imports(sample))
    finally:
        sample.unlink()
    assert found == [
        (1, "matching.standardize._text", ["as_text"]),
        (2, "connectors._x", ["y"]),
        (3, "dagster", []),
    ]

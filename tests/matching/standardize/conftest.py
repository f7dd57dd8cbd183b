from pathlib import Path

import pytest

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The performance smoke check is kept out of the default run: it needs `-m slow`.
    # Only this folder's tests are touched; the whole-pipeline slow tests decide for themselves.
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="performance smoke check: run with -m slow")
    for item in items:
        if "slow" in item.keywords and _HERE in item.path.parents:
            item.add_marker(skip)

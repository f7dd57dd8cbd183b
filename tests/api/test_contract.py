"""The OpenAPI document is the contract: schemathesis fuzzes every operation of the live app.

schemathesis (`--checks all`) sends what the document allows and what it forbids, and checks
every answer against the document: status codes documented, bodies matching their schema,
content types, no 5xx. The issue found 20 failures this way (a 500 on a timezone-aware or
numeric `as_of`, on `offset` ≥ 2⁶³, undocumented 422 bodies, Arabic-Indic digits accepted as a
golden ID); this test keeps the count at 0.

It runs schemathesis's own command line (the tool a bank's QA team runs) against the real app
under uvicorn, deterministically (the same cases every run), with a bounded number of examples
per operation so that it takes well under a minute on two cores. `CONTRACT_HEADERS` is where
authentication headers go (a bearer token or API key), so the same run covers an app that
requires them.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import httpx

# Examples per operation: enough to reach the edge values schemathesis tries first (huge
# integers, offsets, non-ASCII digits), few enough to stay near a minute in `make test`.
MAX_EXAMPLES = 40
CONFIG = Path(__file__).with_name("schemathesis.toml")

# Headers every schemathesis request carries (e.g. {"Authorization": "Bearer …"}).
CONTRACT_HEADERS: Mapping[str, str] = {}


def run_schemathesis(
    base_url: str, report: Path, headers: Mapping[str, str] = CONTRACT_HEADERS
) -> subprocess.CompletedProcess[str]:
    """schemathesis's CLI with every check on the live app's OpenAPI document."""
    schemathesis = Path(sys.executable).with_name("schemathesis")
    command = [
        str(schemathesis),
        "--config-file",
        str(CONFIG),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--generation-deterministic",
        "--continue-on-failure",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


def summary(output: str) -> tuple[int, int]:
    """(test cases generated, failures) from schemathesis's closing summary."""
    cases = re.search(r"(\d+) generated", output)
    failures = re.search(r"(\d+) (?:unique )?failures?", output)
    return (int(cases.group(1)) if cases else 0, int(failures.group(1)) if failures else 0)


def test_schemathesis_all_checks_find_no_failure(api: httpx.Client, tmp_path: Path) -> None:
    result = run_schemathesis(str(api.base_url).rstrip("/"), tmp_path / "junit.xml")
    cases, failures = summary(result.stdout)
    print(result.stdout[-3000:])
    assert cases > 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert result.returncode == 0 and failures == 0, result.stdout[-8000:]

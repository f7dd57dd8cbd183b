"""The OpenAPI document is the contract: schemathesis fuzzes every operation of the live app.

schemathesis (`--checks all`) sends what the document allows and what it forbids, and checks
every answer against the document: status codes documented, bodies matching their schema,
content types, no 5xx. The issue found 20 failures this way (a 500 on a timezone-aware or
numeric `as_of`, on `offset` ≥ 2⁶³, undocumented 422 bodies, Arabic-Indic digits accepted as a
golden ID); this test keeps the count at 0.

It runs schemathesis's own command line (the tool a bank's QA team runs) against the real app
under uvicorn, deterministically (the same cases every run), with a bounded number of examples
per operation so that it takes well under a minute on two cores. The `contract_headers` fixture is
where authentication headers go (a bearer token or API key), so the same run covers an app that
requires them.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from golden_record_api.schemas import GOLDEN_ID_REGEX, ISO_DATE_OR_DATETIME_REGEX, MAX_OFFSET
from golden_record_api.snapshot import LOOKUP_KEYS
from tests.api.conftest import app_on, problem_detail, serve, steward_headers

# Examples per operation: enough to reach the edge values schemathesis tries first (huge
# integers, offsets, non-ASCII digits), few enough to stay near a minute in `make test`.
MAX_EXAMPLES = 100
CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture
def contract_headers() -> Mapping[str, str]:
    """Headers every schemathesis request carries: a steward's bearer token, the role that may
    call every operation here (the shared `api` app's lookup burst is high enough for the run)."""
    return steward_headers()


def run_schemathesis(
    base_url: str, report: Path, headers: Mapping[str, str]
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
    # Run in the report's folder: schemathesis keeps its crash files under ./.schemathesis.
    return subprocess.run(
        command, capture_output=True, text=True, timeout=600, check=False, cwd=report.parent
    )


def summary(output: str) -> tuple[int, int]:
    """(test cases generated, failures) from schemathesis's closing summary."""
    cases = re.search(r"(\d+) generated", output)
    failures = re.search(r"(\d+) (?:unique )?failures?", output)
    return (int(cases.group(1)) if cases else 0, int(failures.group(1)) if failures else 0)


def test_schemathesis_all_checks_find_no_failure(
    api: httpx.Client, contract_headers: Mapping[str, str], tmp_path: Path
) -> None:
    result = run_schemathesis(
        str(api.base_url).rstrip("/"), tmp_path / "junit.xml", contract_headers
    )
    cases, failures = summary(result.stdout)
    print(result.stdout[-3000:])
    assert cases > 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert result.returncode == 0 and failures == 0, result.stdout[-8000:]


# --- timestamps: +08:00 everywhere, each column read in the zone it was written in ----------


def test_pipeline_timestamps_are_utc_served_at_plus_eight(api: httpx.Client) -> None:
    record = api.get("/golden-records/G0000000001").json()

    # Stored 2025-01-01 00:00:00 naive UTC by the pipeline: 08:00 in Shijiazhuang.
    assert record["created_at"] == "2025-01-01T08:00:00+08:00"
    assert record["updated_at"] == "2025-01-02T08:00:00+08:00"
    assert record["sources"][0]["linked_at"] == "2025-01-01T08:00:00+08:00"
    events = api.get("/golden-records/G0000000001/events").json()
    assert [event["occurred_at"] for event in events] == [
        "2025-01-01T08:00:00+08:00",
        "2025-01-02T08:00:00+08:00",
    ]
    # The merge names the steward decision it applied; the machine's create names none.
    assert [(e["decision_id"], e["steward"]) for e in events] == [
        (None, None),
        (12, "cli:wang.min"),
    ]
    assert [e["changed_fields"] for e in events] == [None, ["source_count", "source_systems"]]
    assert api.get("/source-records/core:C000000001").json()["linked_at"] == (
        "2025-01-01T08:00:00+08:00"
    )


def test_source_timestamps_are_china_time_served_at_plus_eight(api: httpx.Client) -> None:
    record = api.get("/golden-records/G0000000001").json()

    # Stored 2024-12-31 10:00:00 naive China time (CONTRACTS.md §3): kept, offset added.
    assert record["sources"][0]["source_updated_at"] == "2024-12-31T10:00:00+08:00"


def test_history_has_aware_validity_and_birth_date_as_a_date(api: httpx.Client) -> None:
    versions = api.get("/golden-records/G0000000001/history").json()

    assert [(v["valid_from"], v["valid_to"]) for v in versions] == [
        ("2025-01-01T08:00:00+08:00", "2025-01-02T08:00:00+08:00"),
        ("2025-01-02T08:00:00+08:00", None),
    ]
    # Regression: history served birth_date as a datetime (a TIMESTAMP column passed through).
    assert {v["birth_date"] for v in versions} == {"1985-03-07"}


def test_health_published_at_is_aware(api: httpx.Client, snapshot_path: Path) -> None:
    published_at = api.get("/health").json()["published_at"]

    assert published_at.endswith("+08:00")
    assert abs(datetime.fromisoformat(published_at).timestamp() - snapshot_path.stat().st_mtime) < 1


def test_every_documented_timestamp_is_served_with_an_offset(api: httpx.Client) -> None:
    """Walks every response of the standard snapshot: no naive timestamp anywhere."""
    bodies = [
        api.get(url).json()
        for url in (
            "/health",
            "/golden-records/G0000000001",
            "/golden-records/G0000000002",
            "/golden-records?name=张伟&include_retired=true",
            "/golden-records/G0000000001/history",
            "/golden-records/G0000000001/events",
            "/golden-records/G0000000001/lineage",
            "/customers/G0000000001/360",
            "/source-records/crm:CRM0000001",
        )
    ]
    timestamp = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and timestamp.match(value):
            found.append(value)

    walk(bodies)
    assert len(found) >= 15
    assert all(value.endswith("+08:00") for value in found), found


# --- as_of: any ISO 8601 form, naive means +08:00, anything else a 422 naming it -----------

# G…001's first version is valid from 2025-01-01 00:00 UTC (08:00 +08:00), its second from
# 2025-01-02 00:00 UTC (08:00 +08:00).
AS_OF_RUN = {
    "2025-01-01": [],  # midnight +08:00 is 16:00 UTC the day before: no version yet
    "2025-01-01T09:00:00": ["r1"],  # naive: bank time, 01:00 UTC
    "2025-01-02T07:59:59": ["r1"],
    "2025-01-02T08:00:00": ["r2"],
    "2025-01-02T00:00:00Z": ["r2"],
    "2025-01-01T23:59:59+00:00": ["r1"],
    "2025-01-02T07:59:59.5+08:00": ["r1"],
    "2025-01-02 08:00+08": ["r2"],
    "20250102T080000+0800": ["r2"],
    "2025-01-01T20:00:00-05:00": ["r2"],  # 2025-01-02 01:00 UTC
    "2025-01-02": ["r1"],  # 2025-01-01 16:00 UTC
}


@pytest.mark.parametrize(("as_of", "runs"), AS_OF_RUN.items())
def test_as_of_takes_any_iso_form(api: httpx.Client, as_of: str, runs: list[str]) -> None:
    response = api.get("/golden-records/G0000000001/history", params={"as_of": as_of})

    assert response.status_code == 200, response.text
    assert [version["run_id"] for version in response.json()] == runs


@pytest.mark.parametrize(
    "as_of",
    [
        "1735689600",  # a number: schemathesis got a 500 for these
        "-1",
        "tomorrow",
        "2025-02-29",  # matches the pattern, not the calendar
        "2025-13-01",
        "2025-01-01T25:00",
        "2025-01-01T10:00:00+25:00",
        "9999-12-31T23:59:59-23:59",  # would overflow converting to UTC
        "13010219850307003X",  # a resident ID pasted into the wrong box
    ],
)
def test_a_malformed_as_of_is_a_422_naming_it(api: httpx.Client, as_of: str) -> None:
    response = api.get("/golden-records/G0000000001/history", params={"as_of": as_of})

    assert problem_detail(response, 422).startswith("query parameter as_of: ")
    assert [error["loc"] for error in response.json()["errors"]] == [["query", "as_of"]]
    assert as_of not in response.text  # never echoed: it can be personal data


@pytest.mark.parametrize("offset", [2**63, 2**63 - 1, MAX_OFFSET + 1])
def test_a_huge_offset_is_a_422_not_a_500(api: httpx.Client, offset: int) -> None:
    # Regression: offset ≥ 2⁶³ reached DuckDB and came back a 500.
    response = api.post("/golden-records/search", json={"name": "张伟", "offset": offset})

    problem_detail(response, 422)
    assert [error["loc"] for error in response.json()["errors"]] == [["body", "offset"]]


def test_a_null_lookup_key_is_a_422_as_the_document_says(api: httpx.Client) -> None:
    # The document gives each key as a string; a null beside a real key used to be ignored,
    # so a body the document forbids was answered 200.
    response = api.post("/golden-records/search", json={"name": "张伟", "mobile": None})

    problem_detail(response, 422)
    assert [error["loc"] for error in response.json()["errors"]] == [["body", "mobile"]]


# --- one error model ---------------------------------------------------------------------


def test_unknown_paths_and_methods_are_problems(api: httpx.Client) -> None:
    assert problem_detail(api.get("/no-such-thing"), 404) == "Not Found"
    assert problem_detail(api.post("/golden-records/G0000000001"), 405) == "Method Not Allowed"


def test_an_unexpected_error_is_a_bare_500_problem_that_logs_no_personal_data(
    serve_on: Callable[[Path], httpx.Client],
    snapshot_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = app_on(snapshot_path)
    secret = "13010219850307003X"

    # The value in the query string, as lookups carry personal data (`instance` is the path).
    @app.get("/boom/{part}")
    def boom(part: str, value: str) -> None:
        raise RuntimeError(f"database said: no row for {value} at /srv/mdm/var/serving.duckdb")

    with ExitStack() as stack:
        client = stack.enter_context(serve(app))
        caplog.set_level(logging.DEBUG)
        response = client.get("/boom/x", params={"value": secret})

    detail = problem_detail(response, 500)
    assert "could not answer" in detail
    assert secret not in response.text and "serving.duckdb" not in response.text
    # The server's records (the test's own httpx client logs the URL it asked for).
    server_log = "\n".join(
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith(("httpx", "httpcore"))
    )
    assert "RuntimeError" in server_log and "/boom/{part}" in server_log
    assert secret not in server_log and "database said" not in server_log


# --- the OpenAPI document ----------------------------------------------------------------


def test_openapi_documents_problems_patterns_and_aware_timestamps(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    operations = {
        (method.upper(), path): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }
    assert len(operations) == 22  # tests/api/test_health.py names them

    for key, operation in operations.items():
        for code in ("422", "500"):
            content = operation["responses"][code]["content"]
            assert list(content) == ["application/problem+json"], (key, code)
            assert content["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"
            }
        for code, response in operation["responses"].items():
            if code.startswith(("4", "5")) and key != ("GET", "/health"):
                assert "application/problem+json" in response["content"], (key, code)
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["schema"].get("pattern"), (key, parameter["name"])

    schemas = spec["components"]["schemas"]
    assert set(schemas["Problem"]["required"]) == {"title", "status"}
    assert "HTTPValidationError" not in schemas
    golden_id = next(p for p in operations[("GET", "/golden-records/{golden_id}")]["parameters"])
    assert golden_id["schema"]["pattern"] == GOLDEN_ID_REGEX == "^G[0-9]{10}$"
    (as_of,) = operations[("GET", "/golden-records/{golden_id}/history")]["parameters"][1:]
    assert as_of["name"] == "as_of"
    assert as_of["schema"]["anyOf"][0]["pattern"] == ISO_DATE_OR_DATETIME_REGEX
    search = operations[("POST", "/golden-records/search")]["requestBody"]["content"]
    body = schemas[search["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]]
    assert body["properties"]["offset"]["maximum"] == MAX_OFFSET
    # Exactly one key, in the document itself: one `required` per branch, each key a string.
    assert body["oneOf"] == [{"required": [key]} for key in ("resident_id", "mobile", "name")]
    assert all(body["properties"][key]["type"] == "string" for key in LOOKUP_KEYS)

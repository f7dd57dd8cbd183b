"""A hand-made serving snapshot and the real app on it, served by uvicorn, driven over HTTP.

The snapshot (CONTRACTS.md §3, §5, §7):

| golden_id   | status  | id_number          | mobile      | sources                        |
|-------------|---------|--------------------|-------------|--------------------------------|
| G0000000001 | active  | 13010219850307003X | 13800138000 | core:C000000001, crm:CRM0000001 |
| G0000000002 | retired | 13010219850307003X | 13800138000 | none (merged into G…001)       |
| G0000000003 | active  | 130102199001014569 | 13700137000 | core:C000000003                |
| G0000000004 | active  | 130102197212127898 | NULL        | credit:BR00000004              |

All four are named 张伟 (the credit record spells it `ZHANG WEI`); the CRM record of G…001
still has an older mobile, 13900139000, that lost survivorship.

`marts.customer_360` has rows for G…001 (with an extra column the API does not know) and
G…003 only.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from connectors.serving import publish_snapshot_file
from connectors.settings import Settings
from golden_record_api.main import create_app

Row = dict[str, Any]

GOLDEN_COLUMNS = {
    "golden_id": "varchar",
    "name": "varchar",
    "name_pinyin": "varchar",
    "id_type": "varchar",
    "id_number": "varchar",
    "birth_date": "date",
    "gender": "varchar",
    "mobile": "varchar",
    "email": "varchar",
    "address": "varchar",
    "province": "varchar",
    "city": "varchar",
    "district": "varchar",
    "adcode": "varchar",
    "source_count": "integer",
    "source_systems": "varchar",
    "status": "varchar",
    "survivor_id": "varchar",
    "created_at": "timestamp",
    "updated_at": "timestamp",
}
XREF_COLUMNS = {
    "record_key": "varchar",
    "source_system": "varchar",
    "source_record_id": "varchar",
    "golden_id": "varchar",
    "match_rule": "varchar",
    "match_weight": "double",
    "linked_at": "timestamp",
}
PARTY_COLUMNS = {
    "record_key": "varchar primary key",
    "source_system": "varchar",
    "source_record_id": "varchar",
    "source_updated_at": "timestamp",
    "batch_id": "varchar",
    "name_raw": "varchar",
    "name": "varchar",
    "name_pinyin": "varchar",
    "name_script": "varchar",
    "id_type": "varchar",
    "id_number": "varchar",
    "id_valid": "boolean",
    "id_issue": "varchar",
    "birth_date": "date",
    "gender": "varchar",
    "mobile": "varchar",
    "phone_other": "varchar",
    "email": "varchar",
    "address_raw": "varchar",
    "address": "varchar",
    "province": "varchar",
    "city": "varchar",
    "district": "varchar",
    "adcode": "varchar",
    "source_trust": "integer",
}
CUSTOMER_360_COLUMNS = {
    "golden_id": "varchar",
    "name": "varchar",
    "gender": "varchar",
    "birth_date": "date",
    "id_number": "varchar",
    "mobile": "varchar",
    "address": "varchar",
    "city": "varchar",
    "district": "varchar",
    "source_count": "integer",
    "source_systems": "varchar",
    "demand_balance": "decimal(18,2)",
    "time_deposit_balance": "decimal(18,2)",
    "wealth_balance": "decimal(18,2)",
    "total_aum": "decimal(18,2)",
    "nearest_maturity_date": "date",
    "account_count": "integer",
    "loan_count": "integer",
    "loan_outstanding": "decimal(18,2)",
    "worst_loan_class": "varchar",
    "relationship_manager_id": "varchar",
    "branch_no": "varchar",
    "tickets_last_90d": "integer",
    "open_complaints": "integer",
    "last_contact_at": "timestamp",
    "avg_csat": "double",
    "value_tier": "varchar",
    "churn_score": "double",  # not known to the API: must pass through untouched
}

ADDRESS = "河北省石家庄市长安区建设北大街1号"


def golden(golden_id: str, **overrides: Any) -> Row:
    row: Row = {
        "golden_id": golden_id,
        "name": "张伟",
        "name_pinyin": "zhang wei",
        "id_type": "resident_id",
        "id_number": "13010219850307003X",
        "birth_date": "1985-03-07",
        "gender": "M",
        "mobile": "13800138000",
        "email": "zhangwei@example.com",
        "address": ADDRESS,
        "province": "河北省",
        "city": "石家庄市",
        "district": "长安区",
        "adcode": "130102",
        "source_count": 1,
        "source_systems": "core",
        "status": "active",
        "survivor_id": None,
        "created_at": "2025-01-01 00:00:00",
        "updated_at": "2025-01-02 00:00:00",
    }
    return {**row, **overrides}


def party(record_key: str, **overrides: Any) -> Row:
    system, source_id = record_key.split(":")
    row: Row = {
        "record_key": record_key,
        "source_system": system,
        "source_record_id": source_id,
        "source_updated_at": "2024-12-31 10:00:00",
        "batch_id": "b1",
        "name_raw": "张伟",
        "name": "张伟",
        "name_pinyin": "zhang wei",
        "name_script": "han",
        "id_type": "resident_id",
        "id_number": "13010219850307003X",
        "id_valid": True,
        "id_issue": None,
        "birth_date": "1985-03-07",
        "gender": "M",
        "mobile": "13800138000",
        "phone_other": None,
        "email": None,
        "address_raw": "河北石家庄长安区建设北大街1号",
        "address": ADDRESS,
        "province": "河北省",
        "city": "石家庄市",
        "district": "长安区",
        "adcode": "130102",
        "source_trust": 1,
    }
    return {**row, **overrides}


def xref(record_key: str, golden_id: str, **overrides: Any) -> Row:
    system, source_id = record_key.split(":")
    row: Row = {
        "record_key": record_key,
        "source_system": system,
        "source_record_id": source_id,
        "golden_id": golden_id,
        "match_rule": "deterministic:id_and_name",
        "match_weight": 12.5,
        "linked_at": "2025-01-01 00:00:00",
    }
    return {**row, **overrides}


def customer_360(golden_id: str, **overrides: Any) -> Row:
    row: Row = dict.fromkeys(CUSTOMER_360_COLUMNS)
    row.update(
        golden_id=golden_id,
        name="张伟",
        gender="M",
        birth_date="1985-03-07",
        id_number="13010219850307003X",
        mobile="13800138000",
        address=ADDRESS,
        city="石家庄市",
        district="长安区",
        source_count=2,
        source_systems="core,crm",
        demand_balance="1200.50",
        time_deposit_balance="50000.00",
        wealth_balance="0.00",
        total_aum="51200.50",
        nearest_maturity_date="2025-01-03",
        account_count=3,
        loan_count=0,
        loan_outstanding="0.00",
        relationship_manager_id="RM0001",
        branch_no="B0001",
        tickets_last_90d=2,
        open_complaints=1,
        last_contact_at="2024-12-20 09:30:00",
        avg_csat=4.5,
        value_tier="mass_affluent",
        churn_score=0.12,
    )
    return {**row, **overrides}


GOLDEN = [
    golden("G0000000001", source_count=2, source_systems="core,crm"),
    golden("G0000000002", status="retired", survivor_id="G0000000001"),
    golden(
        "G0000000003",
        id_number="130102199001014569",
        birth_date="1990-01-01",
        mobile="13700137000",
    ),
    golden(
        "G0000000004",
        id_number="130102197212127898",
        birth_date="1972-12-12",
        mobile=None,
        source_systems="credit",
    ),
]
PARTY = [
    party("core:C000000001", phone_other="031187654321"),
    party("crm:CRM0000001", mobile="13900139000", source_trust=3),
    party(
        "core:C000000003",
        id_number="130102199001014569",
        birth_date="1990-01-01",
        mobile="13700137000",
    ),
    party(
        "credit:BR00000004",
        name_raw="Wei Zhang",
        name="ZHANG WEI",
        name_script="latin",
        id_number="130102197212127898",
        birth_date="1972-12-12",
        mobile=None,
        source_trust=2,
    ),
]
XREF = [
    xref("core:C000000001", "G0000000001"),
    xref("crm:CRM0000001", "G0000000001", match_rule="probabilistic", match_weight=9.75),
    xref("core:C000000003", "G0000000003"),
    xref("credit:BR00000004", "G0000000004"),
]
CUSTOMER_360 = [
    customer_360("G0000000001"),
    customer_360(
        "G0000000003",
        id_number="130102199001014569",
        mobile="13700137000",
        source_systems="core",
        churn_score=None,
    ),
]


def _create(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str], rows: list[Row]):
    con.execute(f"create table {table} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    if rows:
        names = list(columns)
        con.executemany(
            f"insert into {table} ({', '.join(names)}) values ({', '.join('?' for _ in names)})",
            [[row.get(name) for name in names] for row in rows],
        )


def publish_snapshot(
    path: Path,
    *,
    golden_records: list[Row] = GOLDEN,
    party_records: list[Row] = PARTY,
    xrefs: list[Row] = XREF,
    customers: list[Row] | None = CUSTOMER_360,
) -> Path:
    """Write a serving snapshot the way the pipeline does: a temporary file, then a rename."""
    tmp = path.with_name(path.name + ".publishing")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        con.execute("create schema mdm")
        _create(con, "mdm.golden_records", GOLDEN_COLUMNS, golden_records)
        _create(con, "mdm.xref", XREF_COLUMNS, xrefs)
        _create(con, "mdm.party_records", PARTY_COLUMNS, party_records)
        if customers is not None:
            con.execute("create schema marts")
            _create(con, "marts.customer_360", CUSTOMER_360_COLUMNS, customers)
    finally:
        con.close()
    return publish_snapshot_file(tmp, path)


@contextmanager
def serve(app: FastAPI) -> Iterator[httpx.Client]:
    """Run `app` with uvicorn on a free 127.0.0.1 port in a thread; yield a client to it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=10, trust_env=False
        ) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def app_on(serving_path: Path) -> FastAPI:
    return create_app(Settings(serving_path=serving_path))


@pytest.fixture(scope="session")
def snapshot_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return publish_snapshot(tmp_path_factory.mktemp("serving") / "serving.duckdb")


@pytest.fixture(scope="session")
def api(snapshot_path: Path) -> Iterator[httpx.Client]:
    """The app on the standard snapshot; shared by every test that only reads it."""
    with serve(app_on(snapshot_path)) as client:
        yield client


@pytest.fixture
def serve_on() -> Iterator[Callable[[Path], httpx.Client]]:
    """Start a private server on a given serving path (for tests that change the file)."""
    with ExitStack() as stack:
        yield lambda serving_path: stack.enter_context(serve(app_on(serving_path)))

"""`mdm api --workers N`: several processes, each with its own snapshot store, all serving
every publish."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import (
    AUDIENCE,
    GOLDEN,
    ISSUER,
    golden,
    identity_provider,
    publish_snapshot,
    steward_headers,
)


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[httpx.Client, Path, subprocess.Popen[bytes]]]:
    serving = publish_snapshot(tmp_path / "serving.duckdb")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mdm = Path(sys.executable).with_name("mdm")
    server = subprocess.Popen(
        [str(mdm), "api", "--port", str(port), "--workers", "2"],
        env={
            **os.environ,
            "MDM_HOME": str(tmp_path / "var"),
            "MDM_SERVING_PATH": str(serving),
            "MDM_JWT_ISSUER": ISSUER,
            "MDM_JWT_AUDIENCE": AUDIENCE,
            "MDM_JWKS_PATH": str(identity_provider().jwks_path),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            timeout=10,
            trust_env=False,
            headers=steward_headers(),
        ) as c:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, "mdm api exited"
                assert time.monotonic() < deadline, "mdm api did not start"
                try:
                    if c.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            yield c, serving, server
    finally:
        server.terminate()
        server.wait(timeout=30)


def _worker_pids(server: subprocess.Popen[bytes]) -> set[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return {int(pid) for pid in children}


def test_two_workers_serve_lookups_and_each_picks_up_a_new_publish(
    two_workers: tuple[httpx.Client, Path, subprocess.Popen[bytes]],
) -> None:
    client, serving, server = two_workers
    # uvicorn's supervisor runs the app in child processes: two of them, not one.
    assert len(_worker_pids(server)) >= 2

    # A fresh connection per request lets the kernel spread them over both workers.
    def names(url: str, n: int = 40) -> set[str]:
        seen = set()
        for _ in range(n):
            response = httpx.get(
                f"{client.base_url}{url}", timeout=10, trust_env=False, headers=client.headers
            )
            assert response.status_code == 200, response.text
            seen.add(response.json()["name"])
        return seen

    assert names("/golden-records/G0000000001") == {"张伟"}
    found = client.post("/golden-records/search", json={"mobile": "+86 138-0013-8000"})
    assert [item["golden_id"] for item in found.json()["items"]] == ["G0000000001"]

    publish_snapshot(serving, golden_records=[golden("G0000000001", name="张伟伟"), *GOLDEN[1:]])

    assert names("/golden-records/G0000000001") == {"张伟伟"}
    assert names("/customers/G0000000001/360") == {"张伟"}  # the 360 mart was republished as is

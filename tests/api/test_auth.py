"""Identities: bearer JWTs (JWKS file and URL), API keys (CLI, ops store), 401 / 403 / 429."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from connectors.api_keys import ApiKeyStore, parse_key
from connectors.settings import Settings
from golden_record_api.auth import (
    CachedKeyVerifier,
    JwksSource,
    RequestAuthenticator,
    TokenRules,
    Unauthenticated,
)
from golden_record_api.policy import load_policy
from pipelines import cli
from tests.api.conftest import AUDIENCE, ISSUER, IdentityProvider, publish_snapshot
from tests.conftest import fresh_postgres_database

RECORD = "/golden-records/G0000000001"


def _assert_401(response: httpx.Response, secret: str | None = None) -> None:
    assert response.status_code == 401
    assert "Bearer" in response.headers["www-authenticate"]
    assert "ApiKey" in response.headers["www-authenticate"]
    if secret:
        assert secret not in response.text


def test_only_health_is_anonymous(anonymous: httpx.Client) -> None:
    assert anonymous.get("/health").status_code == 200
    for method, url, body in (
        ("GET", RECORD, None),
        ("GET", "/golden-records/G0000000001/history", None),
        ("GET", "/golden-records/G0000000001/lineage", None),
        ("GET", "/golden-records/G0000000001/events", None),
        ("GET", "/customers/G0000000001/360", None),
        ("GET", "/source-records/core:C000000001", None),
        ("POST", "/golden-records/search", {"name": "张伟"}),
    ):
        response = anonymous.request(method, url, json=body)
        _assert_401(response)
        assert response.json()["detail"].startswith("authentication required"), url


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_a_token_from_the_idp_is_accepted(
    anonymous: httpx.Client, idp: IdentityProvider, algorithm: str
) -> None:
    token = idp.token("steward", algorithm=algorithm)

    response = anonymous.get(RECORD, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200


def _forged_token(idp: IdentityProvider) -> str:
    """Right claims and `kid`, signed with a key the IdP never published."""
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "mdm-api", "sub": "x", "exp": now + 60, "role": "steward"}
    other = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(claims, other, algorithm="ES256", headers={"kid": "es-1"})


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda idp: idp.token("steward", lifetime=-120), "expired"),
        (lambda idp: idp.token("steward", iss="https://evil.test/"), "issuer"),
        (lambda idp: idp.token("steward", aud="another-api"), "audience"),
        (lambda idp: idp.token("steward", exp=None), "required claim"),
        (_forged_token, "signature"),
        (lambda idp: idp.token("steward", headers={"kid": "rotated-away"}), "lacks"),
        (
            lambda idp: jwt.encode(
                {"iss": ISSUER, "aud": "mdm-api", "sub": "x", "exp": 2**31, "role": "admin"},
                "a-shared-secret-of-thirty-two-bytes",
                algorithm="HS256",
                headers={"kid": "rs-1"},
            ),
            "algorithm",
        ),
        (lambda idp: "not.a.jwt", "malformed"),
    ],
    ids=["expired", "issuer", "audience", "no-exp", "signature", "kid", "hs256", "garbage"],
)
def test_a_bad_token_is_401_without_echoing_it(
    anonymous: httpx.Client,
    idp: IdentityProvider,
    make: Callable[[IdentityProvider], str],
    reason: str,
) -> None:
    token = make(idp)

    response = anonymous.get(RECORD, headers={"Authorization": f"Bearer {token}"})

    _assert_401(response, token)
    assert reason in response.json()["detail"]


@pytest.mark.parametrize(
    ("claims", "message"),
    [({"role": "janitor"}, "role 'janitor' is not one of"), ({"role": None}, "no 'role' claim")],
)
def test_a_genuine_token_with_an_unknown_role_is_403(
    anonymous: httpx.Client, idp: IdentityProvider, claims: dict[str, Any], message: str
) -> None:
    response = anonymous.get(RECORD, headers=idp.headers("steward", **claims))

    assert response.status_code == 403
    assert message in response.json()["detail"]


def test_a_malformed_authorization_header_is_401(anonymous: httpx.Client) -> None:
    _assert_401(anonymous.get(RECORD, headers={"Authorization": "Basic dXNlcjpwYXNz"}))


def test_the_role_claim_is_configurable(
    serve_on: Callable[..., httpx.Client], idp: IdentityProvider, tmp_path: Path
) -> None:
    serving = publish_snapshot(tmp_path / "serving.duckdb")
    headers = {"Authorization": f"Bearer {idp.token(None, mdm_role='steward')}"}

    client = serve_on(serving, headers=headers, jwt_role_claim="mdm_role")

    assert client.get(RECORD).status_code == 200


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, list[str], dict[str, Any]]]:
    """A JWKS served over HTTP on 127.0.0.1: its URL, the paths asked, the document served."""
    hits: list[str] = []
    document: dict[str, Any] = {"keys": []}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/realms/staff/jwks", hits, document
    finally:
        server.shutdown()
        server.server_close()


def test_jwks_from_a_url_is_cached_and_refetched_for_an_unknown_kid(
    idp: IdentityProvider, jwks_server: tuple[str, list[str], dict[str, Any]]
) -> None:
    url, hits, document = jwks_server
    now = [0.0]
    source = JwksSource(url=url, clock=lambda: now[0])

    with pytest.raises(Unauthenticated, match="lacks"):
        source.key("es-1")  # the IdP lists no keys yet
    document.update(idp.jwks)  # the IdP rotates its keys in
    with pytest.raises(Unauthenticated, match="lacks"):
        source.key("es-1")  # within the refetch interval: the IdP is not asked again
    assert len(hits) == 1
    now[0] += 11
    assert source.key("es-1").key_id == "es-1"  # an unknown kid, after the interval: refetch
    assert source.key("rs-1").key_id == "rs-1"  # a known kid: from the cache
    assert len(hits) == 2
    document["keys"] = [k for k in idp.jwks["keys"] if k["kid"] != "rs-1"]  # withdrawn
    now[0] += 3600
    with pytest.raises(Unauthenticated, match="lacks"):
        source.key("rs-1")  # an hour on, the JWKS is read again and rs-1 is gone
    assert len(hits) == 3


def test_the_app_verifies_tokens_against_a_jwks_url(
    tmp_path: Path,
    idp: IdentityProvider,
    serve_on: Callable[..., httpx.Client],
    jwks_server: tuple[str, list[str], dict[str, Any]],
) -> None:
    url, hits, document = jwks_server
    document.update(idp.jwks)
    serving = publish_snapshot(tmp_path / "serving.duckdb")
    client = serve_on(serving, jwks_path=None, jwks_url=url)

    for _ in range(3):
        assert client.get(RECORD).status_code == 200
    forged = _forged_token(idp)
    _assert_401(client.get(RECORD, headers={"Authorization": f"Bearer {forged}"}), forged)
    assert hits == ["/realms/staff/jwks"]  # fetched once, then cached


def test_an_unreachable_idp_is_503_not_a_bad_token(
    tmp_path: Path, idp: IdentityProvider, serve_on: Callable[..., httpx.Client]
) -> None:
    serving = publish_snapshot(tmp_path / "serving.duckdb")
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/jwks"
    client = serve_on(serving, jwks_path=None, jwks_url=url)

    response = client.get(RECORD)

    assert response.status_code == 503
    assert "identity provider" in response.json()["detail"]
    assert response.headers["retry-after"] == "10"


def test_a_token_with_a_non_string_kid_is_401(
    anonymous: httpx.Client, idp: IdentityProvider
) -> None:
    _, payload, signature = idp.token("steward").split(".")
    header = base64.urlsafe_b64encode(b'{"alg":"ES256","kid":["es-1"]}').rstrip(b"=").decode()
    token = f"{header}.{payload}.{signature}"

    _assert_401(anonymous.get(RECORD, headers={"Authorization": f"Bearer {token}"}), token)


# --- API keys ------------------------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ops_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ops.sqlite'}"
    else:
        with fresh_postgres_database() as url:
            yield url


def test_keys_through_the_cli_create_list_revoke(
    ops_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "get_settings", lambda: Settings(ops_url=ops_url))

    code, out, _ = _cli(capsys, "keys", "create", "--name", "crm-sync", "--role", "app")
    assert code == 0
    key = out.strip().splitlines()[-1]
    parsed = parse_key(key)
    assert parsed is not None
    key_id, secret = parsed
    assert len(secret) >= 43  # 32 random bytes, URL-safe base64

    code, listing, _ = _cli(capsys, "keys", "list")
    assert code == 0
    assert key_id in listing and "crm-sync" in listing
    assert secret not in listing
    store = ApiKeyStore(ops_url)
    try:
        with store.engine.connect() as connection:
            stored = connection.exec_driver_sql("select secret_sha256 from api_keys").scalar()
        assert stored not in listing  # neither the secret nor its hash is ever shown
        assert stored != secret
        assert store.verify(key) is not None
        assert store.verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None

        assert _cli(capsys, "keys", "revoke", key_id)[0] == 0
        assert store.verify(key) is None
        code, _, err = _cli(capsys, "keys", "revoke", key_id)
        assert code == 2 and "already revoked" in err
        assert "revoked" in _cli(capsys, "keys", "list")[1]
    finally:
        store.dispose()

    code, out, _ = _cli(capsys, "keys", "create", "--name", "rm", "--role", "relationship_manager")
    assert code == 0 and "will find no one" in out  # a branch-limited role needs --branch
    code, out, _ = _cli(
        capsys, "keys", "create", "--name", "rm", "--role", "relationship_manager",
        "--branch", "B0001", "--rm", "RM0001",
    )  # fmt: skip
    assert code == 0 and "will find no one" not in out
    code, _, err = _cli(capsys, "keys", "create", "--name", "x", "--role", "root")
    assert code == 2 and "unknown role 'root'" in err
    assert _cli(capsys, "keys", "revoke", "0123456789abcdef")[0] == 2


def test_api_keys_authenticate_a_service_and_revocation_holds_within_the_ttl(
    serve_on: Callable[..., httpx.Client], tmp_path: Path
) -> None:
    serving = publish_snapshot(tmp_path / "serving.duckdb")
    store = ApiKeyStore(f"sqlite:///{tmp_path / 'var' / 'ops.sqlite'}")
    try:
        key, info = store.create("crm-sync", "app")
        client = serve_on(serving, headers={}, api_key_cache_ttl_seconds=0.5)

        by_header = client.get(RECORD, headers={"X-API-Key": key})
        by_scheme = client.get(RECORD, headers={"Authorization": f"ApiKey {key}"})
        assert by_header.status_code == 200
        assert by_header.json()["id_number"] == "130102********003X"  # role app: masked
        assert by_scheme.status_code == 200

        store.revoke(info.key_id)
        time.sleep(0.6)
        _assert_401(client.get(RECORD, headers={"X-API-Key": key}), key)
        wrong = key[:-4] + "AAAA"
        _assert_401(client.get(RECORD, headers={"X-API-Key": wrong}), wrong)
        _assert_401(client.get(RECORD, headers={"X-API-Key": "mdm_nope"}))
    finally:
        store.dispose()


def test_a_verified_key_is_cached_for_the_ttl_only(tmp_path: Path) -> None:
    store = ApiKeyStore(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    calls: list[str] = []

    class Counting:
        def verify(self, presented: str):  # type: ignore[no-untyped-def]
            calls.append("x")
            return store.verify(presented)

    now = [0.0]
    verifier = CachedKeyVerifier(Counting(), ttl=30, clock=lambda: now[0])
    key, info = store.create("svc", "auditor")
    try:
        assert verifier.verify(key) == info
        assert verifier.verify(key) == info
        assert len(calls) == 1  # the second request did not hit the ops store
        store.revoke(info.key_id)
        now[0] += 29
        assert verifier.verify(key) is not None  # still inside the TTL
        now[0] += 2
        assert verifier.verify(key) is None  # revocation honoured once the TTL is over
    finally:
        store.dispose()


# --- rate limit ----------------------------------------------------------------------------


def test_lookups_are_rate_limited_per_principal_with_retry_after(
    serve_on: Callable[..., httpx.Client], idp: IdentityProvider, tmp_path: Path
) -> None:
    serving = publish_snapshot(tmp_path / "serving.duckdb")
    client = serve_on(serving, lookup_burst=3, lookup_rate_per_minute=6)
    other = idp.headers("app")
    body = {"mobile": "13800138000"}

    statuses = [client.post("/golden-records/search", json=body).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    limited = client.post("/golden-records/search", json=body)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 10  # one token per 10 s
    assert "13800138000" not in limited.text
    # Another principal has its own bucket.
    assert client.post("/golden-records/search", json=body, headers=other).status_code == 200


def test_only_credentials_that_need_a_read_leave_the_event_loop(
    idp: IdentityProvider, tmp_path: Path
) -> None:
    # get_principal checks on the event loop unless needs_io says a file, the IdP or the ops
    # store must be read first: then it goes to the threadpool, so the loop never blocks.
    store = ApiKeyStore(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    key, _ = store.create("crm", "app")
    authenticator = RequestAuthenticator(
        load_policy(),
        keys=CachedKeyVerifier(store, ttl=30),
        jwks=JwksSource(path=idp.jwks_path),
        rules=TokenRules(ISSUER, AUDIENCE, 30),
    )
    bearer = {"authorization": f"Bearer {idp.token('steward')}"}
    api_key = {"x-api-key": key}

    assert authenticator.needs_io(bearer) and authenticator.needs_io(api_key)
    assert authenticator.identify(bearer).role == "steward"
    assert authenticator.identify(api_key).role == "app"
    assert not authenticator.needs_io(bearer) and not authenticator.needs_io(api_key)
    # Refused without any read: no credentials, a bad scheme, a token that is no JWT.
    assert not authenticator.needs_io({})
    assert not authenticator.needs_io({"authorization": "Basic dXNlcjpwYXNz"})
    assert not authenticator.needs_io({"authorization": "Bearer not-a-jwt"})
    store.dispose()

"""Console sign-in sessions: who signed in, as a signed cookie the API's workers all accept.

A person signs in once with what the API already trusts (a JWT from the bank's identity
provider, or a personal API key from `mdm keys create`); the console checks it with the API's
authenticator and then keeps only the identity (subject, role, branch, manager ID) in a cookie
signed with HMAC-SHA256. The credential itself is never stored, in the cookie or on the server.

Why a signed cookie and not a server-side session table: the API runs several worker processes
(`mdm api --workers`), and a cookie every worker can check needs no shared state. The price is
that a session cannot be cut short from the server: it ends when it expires
(`console_session_hours`), so a revoked key or a withdrawn role lasts at most that long in the
console. Scopes are not in the cookie: they are read from the access policy on every request,
so a policy change applies at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.settings import Settings
from golden_record_api.principal import Principal, PrincipalKind, Role

SESSION_COOKIE = "mdm_console"
SECRET_FILE = "console_secret"


@dataclass(frozen=True)
class ConsoleSession:
    """What the cookie carries: an identity and the form token, never a credential."""

    subject: str
    kind: PrincipalKind
    role: Role
    branch_id: str | None
    rm_id: str | None
    expires_at: float  # unix seconds
    csrf: str  # the token every form of this session must send back

    def principal(self, scopes: frozenset[str]) -> Principal:
        return Principal(
            subject=self.subject,
            kind=self.kind,
            role=self.role,
            scopes=scopes,
            branch_id=self.branch_id,
            rm_id=self.rm_id,
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Issues and checks session cookies: `<payload>.<hmac>`, both base64url."""

    def __init__(self, secret: bytes, lifetime: timedelta) -> None:
        if len(secret) < 32:
            raise ValueError("the console secret must be at least 32 bytes")
        self._secret = secret
        self.lifetime = lifetime

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(
        self, principal: Principal, now: datetime | None = None
    ) -> tuple[str, ConsoleSession]:
        now = now or datetime.now(UTC)
        session = ConsoleSession(
            subject=principal.subject,
            kind=principal.kind,
            role=principal.role,
            branch_id=principal.branch_id,
            rm_id=principal.rm_id,
            expires_at=(now + self.lifetime).timestamp(),
            csrf=secrets.token_urlsafe(24),
        )
        payload = _b64(json.dumps(asdict(session), separators=(",", ":")).encode("utf-8"))
        return f"{payload}.{self._mac(payload)}", session

    def read(self, cookie: str | None, now: datetime | None = None) -> ConsoleSession | None:
        """The session a genuine, unexpired cookie carries; None for anything else."""
        if not cookie or cookie.count(".") != 1:
            return None
        payload, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            session = ConsoleSession(**json.loads(_unb64(payload)))
        except (ValueError, TypeError):
            return None
        if session.expires_at <= (now or datetime.now(UTC)).timestamp():
            return None
        return session


def console_secret(settings: Settings) -> bytes:
    """The configured secret, or one generated once under `settings.home` (mode 0600).

    Written to a private temporary file and hard-linked into place, which fails if the file is
    there: worker processes starting together agree on one key and never read a half-written one.
    """
    if settings.console_secret:
        return settings.console_secret.encode("utf-8")
    path: Path = settings.home / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "w", encoding="ascii") as file:
            file.write(secrets.token_urlsafe(48))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another worker's key won
        finally:
            temporary.unlink()
    return path.read_bytes().strip()


def build_signer(settings: Settings) -> SessionSigner:
    return SessionSigner(console_secret(settings), timedelta(hours=settings.console_session_hours))


class LazySigner:
    """A `SessionSigner` made on first use: importing the app must not create var/ files."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._signer: SessionSigner | None = None

    def get(self) -> SessionSigner:
        if self._signer is None:
            self._signer = build_signer(self._settings)
        return self._signer

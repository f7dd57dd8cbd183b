"""API keys of service accounts, kept hashed in the ops store (SQLite or PostgreSQL).

A key reads `mdm_<key_id>_<secret>`: `key_id` (16 hex characters) names the row and is what
logs, the audit trail and `mdm keys list` show; `secret` is 32 random bytes, URL-safe base64,
shown once at creation and never stored. The store keeps only SHA-256 of the secret. A slow,
salted hash (bcrypt, scrypt) defends *guessable* passwords; a 256-bit random secret cannot
be guessed, so one SHA-256 is as strong and keeps verification cheap on every request.

Rotation is create-then-revoke: a service gets a second key, switches to it, and the old one
is revoked. Revoked rows stay (with `revoked_at`) so the audit trail can still name them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.ops_store import _sqlite_pragmas, metadata
from connectors.urls import sqlalchemy_url

KEY_PREFIX = "mdm"
SECRET_BYTES = 32
_KEY = re.compile(r"mdm_(?P<key_id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43,})")

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("branch_id", sa.String(32)),
    sa.Column("rm_id", sa.String(32)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("revoked_at", sa.DateTime),
)


class ApiKeyError(ValueError):
    """A key cannot be created or revoked as asked (the message says why)."""


@dataclass(frozen=True)
class ApiKeyInfo:
    """What may be shown about a key: never its secret, never its hash."""

    key_id: str
    name: str
    role: str
    branch_id: str | None
    rm_id: str | None
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def parse_key(presented: str) -> tuple[str, str] | None:
    """(key_id, secret) of a well-formed key, else None."""
    match = _KEY.fullmatch(presented.strip())
    return (match["key_id"], match["secret"]) if match else None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class ApiKeyStore:
    """Creates, lists, revokes and verifies API keys; the table is created on first use."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = sa.create_engine(sqlalchemy_url(url))
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        api_keys.create(self.engine, checkfirst=True)

    def dispose(self) -> None:
        self.engine.dispose()

    def create(
        self, name: str, role: str, *, branch_id: str | None = None, rm_id: str | None = None
    ) -> tuple[str, ApiKeyInfo]:
        """A new key: (the key itself, to hand over once; what is stored about it)."""
        if not name.strip():
            raise ApiKeyError("a key needs a name saying which service holds it")
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(SECRET_BYTES)
        info = ApiKeyInfo(key_id, name.strip(), role, branch_id, rm_id, _now(), None)
        with self.engine.begin() as connection:
            connection.execute(
                sa.insert(api_keys).values(
                    key_id=key_id,
                    name=info.name,
                    secret_sha256=hash_secret(secret),
                    role=role,
                    branch_id=branch_id,
                    rm_id=rm_id,
                    created_at=info.created_at,
                )
            )
        return f"{KEY_PREFIX}_{key_id}_{secret}", info

    def revoke(self, key_id: str) -> ApiKeyInfo:
        with self.engine.begin() as connection:
            updated = connection.execute(
                sa.update(api_keys)
                .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=_now())
            )
        info = self.get(key_id)
        if info is None:
            raise ApiKeyError(f"no API key {key_id!r}")
        if updated.rowcount == 0:
            raise ApiKeyError(f"API key {key_id} was already revoked at {info.revoked_at}")
        return info

    def get(self, key_id: str) -> ApiKeyInfo | None:
        with self.engine.connect() as connection:
            row = (
                connection.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id))
                .mappings()
                .first()
            )
        return _info(row) if row else None

    def list(self) -> list[ApiKeyInfo]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id)
            ).mappings()
            return [_info(row) for row in rows]

    def verify(self, presented: str) -> ApiKeyInfo | None:
        """The active key `presented` is, or None (malformed, unknown, wrong secret, revoked)."""
        parsed = parse_key(presented)
        if parsed is None:
            return None
        key_id, secret = parsed
        with self.engine.connect() as connection:
            row = (
                connection.execute(
                    sa.select(api_keys).where(
                        api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None)
                    )
                )
                .mappings()
                .first()
            )
        if row is None or not hmac.compare_digest(row["secret_sha256"], hash_secret(secret)):
            return None
        return _info(row)


def _info(row: sa.RowMapping) -> ApiKeyInfo:
    return ApiKeyInfo(
        key_id=row["key_id"],
        name=row["name"],
        role=row["role"],
        branch_id=row["branch_id"],
        rm_id=row["rm_id"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )

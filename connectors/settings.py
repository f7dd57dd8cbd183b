"""The one place that reads the environment: where the stores are.

Every other module takes a `Settings` (or the values in it) as an argument; none reads
`os.environ`. Defaults are the embedded setup a newcomer gets on a laptop: everything under
`var/` beside the project, DuckDB for the warehouse, SQLite for the ops store.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Store locations and run-wide options, from `MDM_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="MDM_", extra="ignore")

    home: Path = Field(default=PROJECT_ROOT / "var", description="Folder for all local state")
    config_path: Path = Field(default=PROJECT_ROOT / "mdm.yaml", description="The mdm.yaml to run")
    warehouse_url: str | None = Field(
        default=None, description="duckdb:///path or postgresql://…; default var/warehouse.duckdb"
    )
    ops_url: str | None = Field(default=None, description="SQLAlchemy URL of the ops store")
    serving_path: Path | None = Field(
        default=None, description="Published read-only snapshot the API serves"
    )
    api_workers: int = Field(
        default=1, ge=1, description="Processes `mdm api` serves with (each opens the snapshot)"
    )
    api_docs: bool = Field(
        default=False,
        description="Serve /docs, /redoc and /openapi.json without credentials: for a"
        " developer's machine (`make api`); off by default, so nothing but /health is anonymous",
    )

    # Who may call the API (golden_record_api/auth.py). Bearer JWTs are accepted only when an
    # issuer, an audience and a JWKS (URL or file) are all set; API keys always are.
    jwt_issuer: str | None = Field(default=None, description="The `iss` tokens must carry")
    jwt_audience: str | None = Field(default=None, description="The `aud` tokens must carry")
    jwks_url: str | None = Field(default=None, description="The identity provider's JWKS URL")
    jwks_path: Path | None = Field(default=None, description="A JWKS file instead of a URL")
    jwt_role_claim: str = Field(default="role", description="The claim holding the role")
    jwt_leeway_seconds: int = Field(
        default=30, ge=0, le=300, description="Clock skew allowed on exp / nbf / iat"
    )
    api_key_cache_ttl_seconds: float = Field(
        default=30.0,
        ge=0,
        le=600,
        description="How long a verified API key is trusted without asking the ops store again;"
        " a revoked key stops working within this time",
    )
    access_policy_path: Path | None = Field(
        default=None,
        description="Roles, scopes and field policy; default golden_record_api/access_policy.yaml",
    )
    audit_key: SecretStr | None = Field(
        default=None,
        description="Key of the read audit chain's HMAC-SHA256 (connectors/audit_log.py): with"
        " it, someone who can write the ops store cannot recompute a rewritten chain",
    )
    lookup_rate_per_minute: float = Field(
        default=60.0, gt=0, description="Searches per principal per minute (token bucket refill)"
    )
    lookup_burst: int = Field(
        default=10, ge=1, description="Searches a principal may make at once (bucket size)"
    )
    lookup_rate_shared: bool = Field(
        default=True,
        description="One lookup budget per principal across the API's worker processes (a"
        " memory-mapped file under `home`); false: each worker keeps its own, N workers giving"
        " N times the rate",
    )

    # The change feed's publisher (connectors/change_feed.py, `mdm changes publish`).
    changes_nats_url: str = Field(
        default="nats://127.0.0.1:4222", description="The NATS server the change feed goes to"
    )
    changes_stream: str = Field(
        default="MDM_CHANGES",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="The JetStream stream holding the change feed (created if missing)",
    )
    changes_subject: str = Field(
        default="mdm.changes",
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="Subject prefix: each event goes to `<prefix>.<event_type>`",
    )

    # The web console (golden_record_api/console): its sign-in sessions are signed cookies.
    console_secret: str | None = Field(
        default=None,
        description="Key signing the console's session cookies (32+ random characters); default"
        " a random key kept in var/console_secret, shared by the API's worker processes",
    )
    console_session_hours: float = Field(
        default=8.0,
        gt=0,
        le=24,
        description="How long a console sign-in lasts; a revoked API key or a withdrawn role"
        " ends within this time at the latest",
    )

    @property
    def landing_dir(self) -> Path:
        return HomeFolders(self.home).landing

    @property
    def models_dir(self) -> Path:
        return HomeFolders(self.home).models

    @property
    def reports_dir(self) -> Path:
        return HomeFolders(self.home).reports

    @property
    def resolved_warehouse_url(self) -> str:
        return self.warehouse_url or f"duckdb:///{self.home / 'warehouse.duckdb'}"

    @property
    def resolved_ops_url(self) -> str:
        return self.ops_url or f"sqlite:///{self.home / 'ops.sqlite'}"

    @property
    def rate_limit_path(self) -> Path:
        """The lookup token buckets every API worker on this machine shares."""
        return self.home / "run" / "lookup_buckets.bin"

    @property
    def audit_key_bytes(self) -> bytes | None:
        """The audit chain's HMAC key, or None for the plain sha256 chain."""
        if self.audit_key is None or not self.audit_key.get_secret_value():
            return None
        return self.audit_key.get_secret_value().encode("utf-8")

    @property
    def resolved_serving_path(self) -> Path:
        return self.serving_path or self.home / "serving.duckdb"


@dataclass(frozen=True)
class HomeFolders:
    """The folders of a home (`MDM_HOME`): one place for their names, which the settings and
    the Dagster resources both hand out."""

    home: Path

    @property
    def landing(self) -> Path:
        """Immutable landing batches of every extract."""
        return self.home / "landing"

    @property
    def models(self) -> Path:
        """Each full run's trained model as a file."""
        return self.home / "models"

    @property
    def reports(self) -> Path:
        """The data-quality reports."""
        return self.home / "reports"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

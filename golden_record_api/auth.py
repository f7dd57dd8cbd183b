"""Who is calling: bearer JWTs from the bank's identity provider, and API keys of services.

`RequestAuthenticator` is the app's `Authenticator` (see `principal`): it tries
`Authorization: Bearer <jwt>`, then `X-API-Key: <key>` or `Authorization: ApiKey <key>`.
No credentials or bad ones → 401 with `WWW-Authenticate`; a valid identity whose role the
policy does not know → 403. No message, and no log line, ever repeats what the caller sent.

- JWTs: RS256 or ES256 only (never `none` or an HMAC secret a JWKS could be confused with),
  `iss`, `aud`, `exp` and `sub` required, a little leeway for clock skew. Keys come from a
  JWKS file or URL; the URL is fetched with httpx, cached, and fetched again when a token names
  a `kid` the cache lacks (the IdP rotated its keys) — at most once per `JWKS_REFETCH_SECONDS`,
  so a flood of made-up `kid`s does not become a flood of requests to the IdP — and at least
  once per `JWKS_MAX_AGE_SECONDS`, so a key the IdP withdrew stops working.
- API keys (`connectors.api_keys`): a verified key is cached for `api_key_cache_ttl_seconds`,
  so a request does not hit the ops store each time; a revoked key therefore works for at
  most that long after `mdm keys revoke`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import httpx
import jwt
from fastapi import HTTPException, Request, status

from connectors.api_keys import ApiKeyInfo, ApiKeyStore
from connectors.settings import Settings
from golden_record_api.policy import AccessPolicy
from golden_record_api.principal import ROLES, Principal, Role

ALGORITHMS = ["RS256", "ES256"]
JWKS_REFETCH_SECONDS = 10.0
# A key the IdP withdraws from its JWKS stops being trusted within this time.
JWKS_MAX_AGE_SECONDS = 3600.0
API_KEY_HEADER = "X-API-Key"
CHALLENGE = 'Bearer realm="mdm", ApiKey realm="mdm"'


class Unauthenticated(Exception):
    """No usable credentials; the message says why without quoting them."""


class UnknownRole(Exception):
    """The identity is genuine but its role is not one the access policy knows."""


class IdentityProviderUnavailable(Exception):
    """The JWKS cannot be read: our side's problem (503), not the caller's token's."""


# --- pure parts ----------------------------------------------------------------------------


def credentials(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """("bearer" | "apikey", value) from the request headers, or None when none is given."""
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            return "bearer", value
        if scheme.lower() == "apikey" and value:
            return "apikey", value
        raise Unauthenticated("the Authorization header must be `Bearer <token>` or `ApiKey <key>`")
    key = headers.get(API_KEY_HEADER.lower())
    if key and key.strip():
        return "apikey", key.strip()
    return None


def known_role(value: object) -> Role:
    if isinstance(value, str) and value in ROLES:
        return cast(Role, value)
    shown = value if isinstance(value, str) and len(value) <= 40 else "(not a role name)"
    raise UnknownRole(f"role {shown!r} is not one of {', '.join(ROLES)}")


def principal_from_claims(
    claims: Mapping[str, Any], role_claim: str, policy: AccessPolicy
) -> Principal:
    """A person's principal from a verified token's claims."""
    if role_claim not in claims:
        raise UnknownRole(f"the token has no {role_claim!r} claim naming the caller's role")
    role = known_role(claims[role_claim])
    branch, rm = claims.get("branch_id"), claims.get("rm_id")
    return Principal(
        subject=str(claims["sub"]),
        kind="user",
        role=role,
        scopes=policy.scopes(role),
        branch_id=str(branch) if branch is not None else None,
        rm_id=str(rm) if rm is not None else None,
    )


def principal_from_key(info: ApiKeyInfo, policy: AccessPolicy) -> Principal:
    role = known_role(info.role)
    return Principal(
        subject=f"key:{info.key_id}",
        kind="service",
        role=role,
        scopes=policy.scopes(role),
        branch_id=info.branch_id,
        rm_id=info.rm_id,
    )


# --- JWTs ----------------------------------------------------------------------------------


class JwksSource:
    """The identity provider's signing keys by `kid`, from a JWKS file or URL."""

    def __init__(
        self,
        *,
        url: str | None = None,
        path: Path | None = None,
        fetch: Callable[[str], Mapping[str, Any]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (url is None) == (path is None):
            raise ValueError("give a JWKS url or a path, not both and not neither")
        self.url, self.path = url, path
        self._fetch = fetch or _fetch_jwks
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None

    def key(self, kid: str | None) -> jwt.PyJWK:
        with self._lock:
            if (kid not in self._keys and self._may_refetch()) or self._stale():
                self._fetched_at = self._clock()
                try:
                    self._keys = self._load()
                except (OSError, ValueError, httpx.HTTPError) as exc:
                    if not self._keys:
                        raise IdentityProviderUnavailable(
                            "the identity provider's signing keys cannot be read; try again"
                        ) from exc
                    # Keep the keys we have: a token signed by one of them still verifies.
            if kid is None and len(self._keys) == 1:
                return next(iter(self._keys.values()))
            found = self._keys.get(kid) if kid is not None else None
        if found is None:
            raise Unauthenticated("the token is signed by a key the identity provider lacks")
        return found

    def has_fresh(self, kid: str | None) -> bool:
        """Would `key(kid)` answer from memory, without reading the file or the URL?"""
        with self._lock:
            if self._fetched_at is None or self._stale():
                return False
            return kid in self._keys or (kid is None and len(self._keys) == 1)

    def _stale(self) -> bool:
        return self._fetched_at is not None and (
            self._clock() - self._fetched_at >= JWKS_MAX_AGE_SECONDS
        )

    def _may_refetch(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= JWKS_REFETCH_SECONDS

    def _load(self) -> dict[str, jwt.PyJWK]:
        if self.path is not None:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        else:
            assert self.url is not None
            document = dict(self._fetch(self.url))
        keys: dict[str, jwt.PyJWK] = {}
        for entry in document.get("keys", []):
            # Only public signature keys: an HMAC (`oct`) key in a JWKS must never verify.
            if entry.get("use", "sig") != "sig" or entry.get("kty") not in {"RSA", "EC"}:
                continue
            try:
                key = jwt.PyJWK.from_dict(entry)
            except jwt.PyJWTError:
                continue  # an algorithm we do not accept; other keys may still do
            if key.key_id is not None:
                keys[key.key_id] = key
        return keys


def _fetch_jwks(url: str) -> Mapping[str, Any]:
    response = httpx.get(url, timeout=5.0, trust_env=False)
    response.raise_for_status()
    document: Mapping[str, Any] = response.json()
    return document


@dataclass(frozen=True)
class TokenRules:
    issuer: str
    audience: str
    leeway_seconds: int


_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "the token has expired"),
    (jwt.ImmatureSignatureError, "the token is not valid yet"),
    (jwt.InvalidIssuerError, "the token was issued by an issuer this API does not trust"),
    (jwt.InvalidAudienceError, "the token is meant for another audience"),
    (jwt.InvalidSignatureError, "the token's signature does not verify"),
    (jwt.MissingRequiredClaimError, "the token lacks a required claim (iss, aud, exp, sub)"),
    (jwt.InvalidAlgorithmError, f"the token's algorithm is not one of {', '.join(ALGORITHMS)}"),
)


def verify_token(token: str, keys: JwksSource, rules: TokenRules) -> dict[str, Any]:
    """The claims of a genuine, current token for this API; `Unauthenticated` otherwise."""
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") not in ALGORITHMS:
            raise jwt.InvalidAlgorithmError("algorithm not allowed")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise jwt.DecodeError("kid is not a string")
        key = keys.key(kid)
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key.key,
            algorithms=ALGORITHMS,
            audience=rules.audience,
            issuer=rules.issuer,
            leeway=rules.leeway_seconds,
            options={"require": ["iss", "aud", "exp", "sub"]},
        )
        return claims
    except jwt.PyJWTError as exc:
        reason = next((text for kind, text in _REASONS if isinstance(exc, kind)), None)
        raise Unauthenticated(reason or "the bearer token is malformed") from None


# --- API keys ------------------------------------------------------------------------------


class KeyVerifier(Protocol):
    def verify(self, presented: str) -> ApiKeyInfo | None: ...


class LazyKeyStore:
    """Opens the ops store's key table on the first API key seen, not when the app is built
    (importing the app must not create `var/ops.sqlite`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._store: ApiKeyStore | None = None

    def verify(self, presented: str) -> ApiKeyInfo | None:
        with self._lock:
            if self._store is None:
                self._store = ApiKeyStore(self.url)
        return self._store.verify(presented)

    def dispose(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.dispose()
                self._store = None


class CachedKeyVerifier:
    """Verified keys remembered for `ttl` seconds (by a hash of the key, never the key)."""

    def __init__(
        self, store: KeyVerifier, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.store, self.ttl, self._clock = store, ttl, clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, ApiKeyInfo]] = {}

    def has_cached(self, presented: str) -> bool:
        """Would `verify(presented)` answer from memory, without asking the ops store?"""
        digest = hashlib.sha256(presented.encode("utf-8", "replace")).hexdigest()
        with self._lock:
            cached = self._cache.get(digest)
            return cached is not None and cached[0] > self._clock()

    def verify(self, presented: str) -> ApiKeyInfo | None:
        digest = hashlib.sha256(presented.encode("utf-8", "replace")).hexdigest()
        now = self._clock()
        with self._lock:
            cached = self._cache.get(digest)
            if cached is not None and cached[0] > now:
                return cached[1]
        info = self.store.verify(presented)
        with self._lock:
            if info is None:
                self._cache.pop(digest, None)
            elif self.ttl > 0:
                if len(self._cache) > 10_000:  # bounded: expired entries go first
                    self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
                self._cache[digest] = (now + self.ttl, info)
        return info


# --- the app's authenticator ---------------------------------------------------------------


class RequestAuthenticator:
    """Bearer JWT, then API key; see the module docstring."""

    def __init__(
        self,
        policy: AccessPolicy,
        *,
        keys: CachedKeyVerifier | None,
        jwks: JwksSource | None,
        rules: TokenRules | None,
        role_claim: str = "role",
    ) -> None:
        self.policy, self.keys, self.jwks, self.rules = policy, keys, jwks, rules
        self.role_claim = role_claim

    def identify(self, headers: Mapping[str, str]) -> Principal:
        """The principal, or `Unauthenticated` / `UnknownRole` (FastAPI-free)."""
        given = credentials(headers)
        if given is None:
            raise Unauthenticated(
                "authentication required: send `Authorization: Bearer <token>` or"
                f" `{API_KEY_HEADER}: <key>`"
            )
        kind, value = given
        if kind == "bearer":
            if self.jwks is None or self.rules is None:
                raise Unauthenticated("bearer tokens are not accepted: no identity provider set")
            claims = verify_token(value, self.jwks, self.rules)
            return principal_from_claims(claims, self.role_claim, self.policy)
        info = self.keys.verify(value) if self.keys is not None else None
        if info is None:
            raise Unauthenticated("the API key is unknown, revoked or malformed")
        return principal_from_key(info, self.policy)

    def needs_io(self, headers: Mapping[str, str]) -> bool:
        """Must identifying these credentials read a file, the network or the ops store?

        False on the hot path (a cached API key, a token signed by a key already loaded): the
        caller may then authenticate on the event loop instead of paying a thread hop.
        """
        try:
            given = credentials(headers)
        except Unauthenticated:
            return False  # refused by `authenticate` without any I/O
        if given is None:
            return False
        kind, value = given
        if kind == "bearer":
            if self.jwks is None:
                return False
            try:
                kid = jwt.get_unverified_header(value).get("kid")
            except jwt.PyJWTError:
                return False  # malformed: verify_token rejects it without any I/O
            return not self.jwks.has_fresh(kid if isinstance(kid, str) else None)
        return self.keys is not None and not self.keys.has_cached(value)

    def authenticate(self, request: Request) -> Principal:
        try:
            return self.identify(request.headers)
        except Unauthenticated as exc:
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail=str(exc),
                headers={"WWW-Authenticate": CHALLENGE},
            ) from None
        except UnknownRole as exc:
            raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=str(exc)) from None
        except IdentityProviderUnavailable as exc:
            raise HTTPException(
                status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
                detail=str(exc),
                headers={"Retry-After": str(int(JWKS_REFETCH_SECONDS))},
            ) from None


def build_authenticator(
    settings: Settings, policy: AccessPolicy, keys: KeyVerifier | None
) -> RequestAuthenticator:
    """The authenticator `settings` describe (JWTs only when issuer, audience, JWKS are set)."""
    jwks: JwksSource | None = None
    rules: TokenRules | None = None
    if settings.jwt_issuer and settings.jwt_audience and (settings.jwks_url or settings.jwks_path):
        jwks = (
            JwksSource(path=settings.jwks_path)
            if settings.jwks_path
            else JwksSource(url=settings.jwks_url)
        )
        rules = TokenRules(settings.jwt_issuer, settings.jwt_audience, settings.jwt_leeway_seconds)
    verifier = (
        CachedKeyVerifier(keys, settings.api_key_cache_ttl_seconds) if keys is not None else None
    )
    return RequestAuthenticator(
        policy, keys=verifier, jwks=jwks, rules=rules, role_claim=settings.jwt_role_claim
    )

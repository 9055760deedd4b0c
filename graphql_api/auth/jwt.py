"""Bearer token verification: HS256 (development/test) and RS256 from an OIDC/Cognito JWKS.

This is the only module allowed to import python-jose. python-jose 3.5.0 is lax in several
places, so every claim that matters is checked here again after ``jwt.decode`` succeeds:

- ``exp`` is only checked when present unless ``require_exp`` is set, and is coerced with
  ``int()``: a string ``"99999999999"`` passes, ``null`` leaks ``TypeError`` and ``Infinity``
  leaks ``OverflowError``.
- ``aud`` is only checked when present unless ``require_aud`` is set.
- ``iat`` is only checked for being int-like, never for being in the future.
- ``sub`` may be the empty string.
- ``JWKError`` (e.g. a PEM used as an HMAC secret) is raised outside ``JWTError``.
- Given a ``Key`` object, the signature check does not look at the header's ``alg`` at all, and
  given a string it first tries ``json.loads`` on it; so the algorithm is pinned here from the
  unverified header and only prepared ``Key`` objects are passed in.
- Claims JSON nested deeply enough leaks ``RecursionError`` from ``json.loads``.
- An ``at_hash`` claim (present in Cognito id tokens) is refused unless the access token is
  supplied, which a bearer-token API never has.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
from jose import jwk
from jose import jwt as jose_jwt
from jose.exceptions import ExpiredSignatureError, JOSEError, JWSError, JWTClaimsError

from graphql_api.settings import MIN_HS256_SECRET_BYTES

__all__ = ["Claims", "TokenError", "TokenVerifier", "mint_hs256"]

logger = logging.getLogger(__name__)

MAX_TOKEN_BYTES = 8 * 1024
MAX_LEEWAY_SECONDS = 60
# A JWKS is a few KiB; anything far larger is not one and is not worth parsing.
MAX_JWKS_BYTES = 1024 * 1024
MIN_RSA_KEY_BITS = 2048

_HS256 = "HS256"
_RS256 = "RS256"
# Strict base64url per segment: jose's decoder silently drops foreign characters, and a JWS
# compact serialisation has exactly three non-empty segments (a JWE has five, alg none has an
# empty signature).
_JWS_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_TOKEN_USES = frozenset({"access", "id"})


class TokenError(Exception):
    """Token refused; str(exc) is a short reason safe to show (e.g. 'token expired')."""


@dataclass(frozen=True)
class Claims:
    """Verified identity taken from a token; ``raw`` holds every verified claim."""

    sub: str
    email: str | None
    name: str | None
    raw: dict[str, Any]


class TokenVerifier:
    """Verifies bearer tokens against one HS256 secret and/or one JWKS URL (RS256 only)."""

    def __init__(
        self,
        *,
        hs256_secret: str | None = None,
        jwks_url: str | None = None,
        issuer: str | None = None,
        audience: str | None = None,
        cognito_client_id: str | None = None,
        leeway: int = 30,
        jwks_cooldown: float = 30.0,
        jwks_cache_ttl: float = 3600.0,
        http_timeout: float = 3.0,
    ) -> None:
        if hs256_secret is None and not jwks_url:
            raise ValueError("no token key source: set JWT_HS256_SECRET or JWT_JWKS_URL")
        if not issuer:
            raise ValueError("JWT_ISSUER is required")
        if not audience and not cognito_client_id:
            raise ValueError("JWT_AUDIENCE is required unless JWT_COGNITO_CLIENT_ID is set")
        if isinstance(leeway, bool) or not 0 <= leeway <= MAX_LEEWAY_SECONDS:
            raise ValueError(f"JWT leeway must be between 0 and {MAX_LEEWAY_SECONDS} seconds")
        if jwks_cooldown < 0 or jwks_cache_ttl <= 0 or http_timeout <= 0:
            raise ValueError("JWKS cooldown must be >= 0, cache TTL and HTTP timeout > 0")

        self._hmac_key: Any = None
        if hs256_secret is not None:
            self._hmac_key = _hmac_key(hs256_secret)
        self._jwks_url = jwks_url or None
        self._issuer = issuer
        self._audience = audience or None
        self._cognito_client_id = cognito_client_id or None
        self._leeway = leeway
        self._jwks_cooldown = jwks_cooldown
        self._jwks_cache_ttl = jwks_cache_ttl
        self._http_timeout = http_timeout

        self._client: httpx.AsyncClient | None = None
        self._lock = asyncio.Lock()
        self._keys: dict[str, Any] = {}
        # Monotonic times; None means "never". A failed fetch moves only _last_attempt, so
        # stale keys keep serving while the cooldown protects a struggling endpoint.
        self._fetched_at: float | None = None
        self._last_attempt: float | None = None

    async def verify(self, token: str) -> Claims:
        try:
            return await self._verify(token)
        except TokenError:
            raise
        except JOSEError as exc:
            raise TokenError(_jose_reason(exc)) from None
        except (ValueError, TypeError, KeyError, OverflowError, RecursionError):
            # jose lets these escape on hostile input: exp null (TypeError), exp Infinity
            # (OverflowError), deeply nested JSON (RecursionError).
            raise TokenError("malformed token") from None
        except Exception:
            # Fail closed on anything unforeseen, but keep it visible to operators.
            logger.exception("unexpected error while verifying a token")
            raise TokenError("invalid token") from None

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def _verify(self, token: str) -> Claims:
        if not isinstance(token, str) or not token:
            raise TokenError("empty token")
        if len(token) > MAX_TOKEN_BYTES:
            raise TokenError("token too long")
        if token.count(".") == 4:
            raise TokenError("encrypted tokens are not accepted")
        if not _JWS_COMPACT.fullmatch(token):
            raise TokenError("malformed token")

        header = jose_jwt.get_unverified_header(token)
        if not isinstance(header, dict):
            raise TokenError("malformed token")
        if "crit" in header:
            # RFC 7515 requires refusing critical extensions we do not implement (all of them).
            raise TokenError("unsupported token header")
        alg = header.get("alg")
        if alg == _HS256 and self._hmac_key is not None:
            key = self._hmac_key
        elif alg == _RS256 and self._jwks_url is not None:
            kid = header.get("kid")
            if not isinstance(kid, str) or not kid:
                raise TokenError("token has no key id")
            key = await self._jwks_key(kid)
        else:
            raise TokenError("unsupported token algorithm")

        # The unverified claims only pick jose's audience mode; _check_claims re-decides on the
        # verified claims.
        expected_aud = self._expected_audience(jose_jwt.get_unverified_claims(token))
        claims = jose_jwt.decode(
            token,
            key,
            algorithms=[alg],
            issuer=self._issuer,
            audience=expected_aud,
            options={
                "require_exp": True,
                "require_iss": True,
                "require_sub": True,
                "require_aud": expected_aud is not None,
                "verify_aud": expected_aud is not None,
                "verify_at_hash": False,
                "leeway": self._leeway,
            },
        )
        if not isinstance(claims, dict):
            raise TokenError("malformed token")
        self._check_claims(claims)
        return _to_claims(claims)

    def _expected_audience(self, claims: Any) -> str | None:
        """The ``aud`` these claims must carry; None for a Cognito access token (no aud)."""
        token_use = claims.get("token_use") if isinstance(claims, dict) else None
        if self._cognito_client_id is not None:
            if token_use == "access":
                return None
            if token_use == "id":
                return self._cognito_client_id
        return self._audience or self._cognito_client_id

    def _check_claims(self, claims: dict[str, Any]) -> None:
        now = time.time()
        exp = _numeric_date(claims, "exp")
        if exp is None:
            raise TokenError("token has no expiry")
        if now >= exp + self._leeway:
            raise TokenError("token expired")
        nbf = _numeric_date(claims, "nbf")
        if nbf is not None and nbf > now + self._leeway:
            raise TokenError("token not yet valid")
        iat = _numeric_date(claims, "iat")
        if iat is not None and iat > now + self._leeway:
            raise TokenError("token issued in the future")

        iss = claims.get("iss")
        if not isinstance(iss, str) or iss != self._issuer:
            raise TokenError("invalid issuer")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub.strip():
            raise TokenError("invalid subject")

        token_use = claims.get("token_use")
        if token_use is not None and token_use not in _TOKEN_USES:
            raise TokenError("invalid token_use")
        expected_aud = self._expected_audience(claims)
        if expected_aud is None:
            # Cognito access tokens carry no aud; client_id names the app client instead.
            if claims.get("client_id") != self._cognito_client_id:
                raise TokenError("invalid client")
        elif not _audience_matches(claims.get("aud"), expected_aud):
            raise TokenError("invalid audience")

    async def _jwks_key(self, kid: str) -> Any:
        key = self._fresh_key(kid)
        if key is not None:
            return key
        async with self._lock:
            # Whoever held the lock before us may have just fetched what we need.
            key = self._fresh_key(kid)
            if key is not None:
                return key
            now = time.monotonic()
            if self._last_attempt is None or now - self._last_attempt >= self._jwks_cooldown:
                await self._refresh_jwks()
            key = self._keys.get(kid)
            if key is not None:
                return key
            if not self._keys:
                raise TokenError("signing keys unavailable")
            raise TokenError("unknown signing key")

    def _fresh_key(self, kid: str) -> Any:
        if self._fetched_at is None:
            return None
        if time.monotonic() - self._fetched_at >= self._jwks_cache_ttl:
            return None
        return self._keys.get(kid)

    async def _refresh_jwks(self) -> None:
        assert self._jwks_url is not None
        self._last_attempt = time.monotonic()
        try:
            if self._client is None:
                self._client = httpx.AsyncClient(timeout=self._http_timeout)
            response = await self._client.get(
                self._jwks_url, headers={"Accept": "application/json"}
            )
            response.raise_for_status()
            if len(response.content) > MAX_JWKS_BYTES:
                raise ValueError("JWKS response too large")
            keys = _parse_jwks(response.json())
        except Exception as exc:
            # Keep whatever keys we already have: an outage of the issuer must not log everyone
            # out, and with no keys at all verification fails closed.
            logger.warning("JWKS fetch from %s failed: %s", self._jwks_url, exc)
            return
        if not keys:
            logger.warning("JWKS at %s has no usable RS256 signing keys", self._jwks_url)
            return
        self._keys = keys
        self._fetched_at = time.monotonic()


def mint_hs256(
    secret: str,
    *,
    sub: str,
    email: str | None,
    name: str | None = None,
    issuer: str,
    audience: str,
    ttl_seconds: int = 3600,
    extra: dict[str, Any] | None = None,
) -> str:
    """Development/test tokens."""
    key = _hmac_key(secret)
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if email is not None:
        claims["email"] = email
    if name is not None:
        claims["name"] = name
    if extra:
        claims.update(extra)
    token: str = jose_jwt.encode(claims, key, algorithm=_HS256)
    return token


def _hmac_key(secret: str) -> Any:
    if len(secret.encode()) < MIN_HS256_SECRET_BYTES:
        raise ValueError(f"JWT_HS256_SECRET must be at least {MIN_HS256_SECRET_BYTES} bytes")
    try:
        return jwk.construct(secret, _HS256)
    except JOSEError:
        # jose refuses PEM/SSH material as an HMAC secret; reusing a public key as the secret
        # is exactly what the key-confusion attack exploits.
        raise ValueError("JWT_HS256_SECRET must not be a PEM or SSH key") from None


def _parse_jwks(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys: dict[str, Any] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict):
            continue
        kid = entry.get("kid")
        if (
            entry.get("kty") != "RSA"
            or entry.get("use", "sig") != "sig"
            or entry.get("alg", _RS256) != _RS256
            or not isinstance(kid, str)
            or not kid
            or kid in keys
        ):
            continue
        n, e = entry.get("n"), entry.get("e")
        if not isinstance(n, str) or not isinstance(e, str):
            continue
        try:
            # Only the public parameters: a JWKS that leaks "d" must not become a signing key.
            key = jwk.construct({"kty": "RSA", "n": n, "e": e}, _RS256)
            if key.prepared_key.key_size < MIN_RSA_KEY_BITS:
                continue
        except (JOSEError, ValueError, TypeError):
            continue
        keys[kid] = key
    return keys


def _numeric_date(claims: dict[str, Any], name: str) -> float | None:
    if name not in claims:
        return None
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TokenError(f"invalid {name} claim")
    return float(value)


def _audience_matches(aud: Any, expected: str) -> bool:
    if isinstance(aud, str):
        return aud == expected
    if isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
        return expected in aud
    return False


def _optional_str(claims: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def _to_claims(claims: dict[str, Any]) -> Claims:
    return Claims(
        sub=claims["sub"],
        email=_optional_str(claims, "email"),
        name=_optional_str(claims, "name", "cognito:username", "username"),
        raw=claims,
    )


def _jose_reason(exc: JOSEError) -> str:
    if isinstance(exc, ExpiredSignatureError):
        return "token expired"
    if isinstance(exc, JWTClaimsError):
        return "invalid claims"
    # jose signals a missing required claim with a bare JWTError; its message is fixed in 3.5.0.
    if str(exc).startswith("missing required key"):
        return "missing required claim"
    # jwt.decode wraps the JWS failure (a bad signature, in practice) as its first argument.
    if exc.args and isinstance(exc.args[0], JWSError):
        return "invalid signature"
    return "invalid token"

"""Turn request credentials into a Principal (identity only; roles come from memberships).

Two schemes: `Bearer <token>` for users (verified by auth/jwt.py) and `ApiKey <secret>` for
partner keys (looked up by their prefix in DynamoDB; only a SHA-256 of the secret is stored).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable

from graphql_api.auth.jwt import TokenError, TokenVerifier
from graphql_api.auth.principal import Principal
from graphql_api.rbac.roles import Role
from graphql_api.store import keys
from graphql_api.store.codec import Item

# Secrets look like gqa_<16 hex: key id, the lookup prefix>_<43 url-safe characters>.
API_KEY_PREFIX = "gqa"
API_KEY_RE = re.compile(r"^gqa_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
INVALID_API_KEY = "Invalid API key"

Loader = Callable[[keys.Key], Awaitable[Item | None]]


def hash_api_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def auth_scheme(header: str | None) -> str | None:
    """The lowercased scheme of an Authorization header."""
    if not header:
        return None
    return header.strip().partition(" ")[0].lower() or None


async def principal_from_bearer(
    verifier: TokenVerifier, header: str | None
) -> tuple[Principal | None, str | None]:
    """(principal, None) for a good token, (None, reason) for a bad one, (None, None) if absent."""
    if not header:
        return None, None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None, "Unsupported authorization scheme"
    try:
        claims = await verifier.verify(token.strip())
    except TokenError as exc:
        return None, f"Invalid token: {exc}"
    return Principal(id=claims.sub, email=claims.email, name=claims.name), None


async def principal_from_api_key(load: Loader, secret: str) -> tuple[Principal | None, str | None]:
    """A partner key's principal: it acts in its organization with its fixed role."""
    match = API_KEY_RE.match(secret.strip())
    if match is None:
        return None, INVALID_API_KEY
    kid = match.group(1)
    item = await load(keys.api_key_lookup(kid))
    # Compared even when the item is missing, so timing does not tell which prefixes exist.
    stored = item["secretHash"] if item else hash_api_secret("")
    if not hmac.compare_digest(stored, hash_api_secret(secret.strip())) or item is None:
        return None, INVALID_API_KEY
    principal = Principal(
        id=f"apikey:{kid}",
        name=item["name"],
        api_key_id=kid,
        api_key_org=item["orgId"],
        api_key_role=Role(item["role"]),
    )
    return principal, None


async def authenticate(
    verifier: TokenVerifier, load: Loader, header: str | None
) -> tuple[Principal | None, str | None]:
    """Dispatch on the scheme: only user tokens go through JWT verification."""
    if auth_scheme(header) == "apikey":
        assert header is not None
        return await principal_from_api_key(load, header.strip().partition(" ")[2])
    return await principal_from_bearer(verifier, header)

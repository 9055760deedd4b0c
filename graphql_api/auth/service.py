"""Turn request credentials into a Principal (identity only; roles come from memberships)."""

from __future__ import annotations

from graphql_api.auth.jwt import TokenError, TokenVerifier
from graphql_api.auth.principal import Principal


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

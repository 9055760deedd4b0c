"""Hand-made JWTs for hostile-token tests (no python-jose: it stays confined to auth/jwt.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from graphql_api.settings import DEV_AUDIENCE, DEV_HS256_SECRET, DEV_ISSUER


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims(sub: str, ttl: int = 600, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": sub,
        "email": f"{sub}@example.test",
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "iat": now,
        "exp": now + ttl,
        **extra,
    }


def hs256(payload: dict[str, Any], secret: str = DEV_HS256_SECRET, alg: str = "HS256") -> str:
    """A token signed with HMAC-SHA256 whatever `alg` its header claims."""
    signing_input = f"{b64json({'alg': alg, 'typ': 'JWT'})}.{b64json(payload)}"
    mac = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def unsigned(payload: dict[str, Any]) -> str:
    """`alg: none` with an empty signature."""
    return f"{b64json({'alg': 'none', 'typ': 'JWT'})}.{b64json(payload)}."

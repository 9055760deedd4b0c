"""JWKS endpoint down, at the HTTP level: keys fetched before the outage keep verifying tokens;
an app that never got keys refuses every RS256 token (fail closed) as UNAUTHENTICATED.

The verifier's own cache, cooldown and TTL rules are unit-tested in tests/auth/test_jwt.py
(test_server_stopped_cached_keys_still_work, test_server_down_without_cache_fails_closed).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.auth.test_jwt import AUDIENCE, ISSUER, JwksServer, claims, public_jwk, rs_token
from tests.support.isolated import IsolatedApp, isolated_app
from tests.support.moto_server import MotoServer

ME = "{ me { email } }"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks(key: rsa.RSAPrivateKey) -> Iterator[JwksServer]:
    server = JwksServer([public_jwk(key, "k1")])
    server.start()
    yield server
    server.stop()  # idempotent: the test may have stopped it already


def token(key: rsa.RSAPrivateKey, kid: str = "k1") -> tuple[str, str]:
    sub = f"jwks-{uuid.uuid4().hex[:10]}"
    email = f"{sub}@example.test"
    return email, rs_token(claims(sub=sub, email=email), key, {"kid": kid})


async def me(app: IsolatedApp, bearer: str) -> dict[str, Any]:
    response = await app.http.post(
        "/graphql", json={"query": ME}, headers={"authorization": f"Bearer {bearer}"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def jwks_settings(url: str) -> dict[str, Any]:
    return {"jwt_jwks_url": url, "jwt_issuer": ISSUER, "jwt_audience": AUDIENCE}


async def test_cached_keys_keep_working_while_jwks_is_down(
    moto: MotoServer, jwks: JwksServer, key: rsa.RSAPrivateKey
) -> None:
    async with isolated_app(moto, **jwks_settings(jwks.url)) as app:
        email, first = token(key)
        assert (await me(app, first))["data"]["me"]["email"] == email
        assert jwks.hits == 1

        jwks.stop()
        # The token seen before, and a new one signed with the same key: both verify.
        assert (await me(app, first))["data"]["me"]["email"] == email
        other_email, other = token(key)
        assert (await me(app, other))["data"]["me"]["email"] == other_email
        # A key the cache never held cannot be looked up: refused, not let through.
        rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _, unknown = token(rotated, kid="k2")
        body = await me(app, unknown)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_no_keys_fails_closed(
    moto: MotoServer, jwks: JwksServer, key: rsa.RSAPrivateKey
) -> None:
    jwks.stop()
    async with isolated_app(moto, **jwks_settings(jwks.url)) as app:
        _, bearer = token(key)
        for _ in range(2):  # also after the refetch cooldown started
            body = await me(app, bearer)
            assert body["data"] is None
            (error,) = body["errors"]
            assert error["extensions"]["code"] == "UNAUTHENTICATED"
        # Anonymous requests are unaffected: the schema still answers.
        plain = await app.http.post("/graphql", json={"query": "{ __typename }"})
        assert plain.json() == {"data": {"__typename": "Query"}}

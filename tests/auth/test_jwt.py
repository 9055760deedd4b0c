"""Tests for graphql_api.auth.jwt.

Tokens are built by hand here (hmac / cryptography), not with python-jose, so a hostile token
does not depend on what the library under test is willing to produce, and jose stays confined
to graphql_api/auth/jwt.py.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graphql_api.auth.jwt import Claims, TokenError, TokenVerifier, mint_hs256

SECRET = "test-secret-0123456789-abcdefghijklmnop"
ISSUER = "https://issuer.test/"
AUDIENCE = "graphql-api"
CLIENT_ID = "cognito-app-client"
DROP = object()


# --- hand-made tokens -----------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def hs_token(
    claims: Any,
    secret: str | bytes = SECRET,
    alg: str = "HS256",
    header: dict[str, Any] | None = None,
) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    full_header = {"alg": alg, "typ": "JWT", **(header or {})}
    signing_input = f"{b64json(full_header)}.{b64json(claims)}"
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[alg]
    return f"{signing_input}.{b64url(hmac.new(key, signing_input.encode(), digest).digest())}"


def rs_token(
    claims: dict[str, Any], key: rsa.RSAPrivateKey, header: dict[str, Any] | None = None
) -> str:
    full_header = {"alg": "RS256", "typ": "JWT", **(header or {})}
    signing_input = f"{b64json(full_header)}.{b64json(claims)}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


def hs_signed_raw(payload: bytes, secret: str = SECRET) -> str:
    signing_input = f"{b64json({'alg': 'HS256'})}.{b64url(payload)}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def swap_payload(token: str, claims: dict[str, Any]) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{b64json(claims)}.{signature}"


def raw_token(header: dict[str, Any], claims: dict[str, Any], signature: str = "") -> str:
    return f"{b64json(header)}.{b64json(claims)}.{signature}"


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "iat": now,
        "exp": now + 600,
        "email": "ada@example.com",
        "name": "Ada",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not DROP}


def cognito_access(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "aud": DROP,
        "name": DROP,
        "email": DROP,
        "token_use": "access",
        "client_id": CLIENT_ID,
        "username": "ada",
    }
    return claims(**{**fields, **overrides})


def public_jwk(key: rsa.RSAPrivateKey, kid: str, **extra: Any) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()

    def encode_int(value: int) -> str:
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {
        "kty": "RSA",
        "kid": kid,
        "n": encode_int(numbers.n),
        "e": encode_int(numbers.e),
        **extra,
    }


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --- a real JWKS endpoint -------------------------------------------------------------------


class JwksServer:
    """A Starlette JWKS endpoint under uvicorn in a thread, counting the requests it serves."""

    def __init__(self, keys: list[dict[str, Any]]) -> None:
        self.keys = keys
        self.hits = 0
        self.status = 200
        self.body: bytes | None = None
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/.well-known/jwks.json"
        app = Starlette(routes=[Route("/.well-known/jwks.json", self._jwks)])
        config = uvicorn.Config(
            app, log_level="error", lifespan="off", http="h11", ws="none", loop="asyncio"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    async def _jwks(self, request: Request) -> Response:
        self.hits += 1
        if self.body is not None:
            return Response(self.body, status_code=self.status, media_type="application/json")
        return JSONResponse({"keys": self.keys}, status_code=self.status)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "JWKS server failed"
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()
        assert not self._thread.is_alive()


@dataclass(frozen=True)
class Keys:
    main: rsa.RSAPrivateKey
    other: rsa.RSAPrivateKey
    rotated: rsa.RSAPrivateKey


@pytest.fixture(scope="module")
def keys() -> Keys:
    def gen() -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    return Keys(main=gen(), other=gen(), rotated=gen())


@pytest.fixture(scope="module")
def shared_jwks(keys: Keys) -> Iterator[JwksServer]:
    server = JwksServer([public_jwk(keys.main, "k1")])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def jwks_server(keys: Keys) -> Iterator[JwksServer]:
    server = JwksServer([public_jwk(keys.main, "k1")])
    server.start()
    yield server
    server.stop()


def closed_port_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/jwks.json"


def make_verifier(kind: str, jwks_url: str, **kwargs: Any) -> TokenVerifier:
    if kind == "hs":
        return TokenVerifier(hs256_secret=SECRET, issuer=ISSUER, audience=AUDIENCE, **kwargs)
    if kind == "jwks":
        return TokenVerifier(jwks_url=jwks_url, issuer=ISSUER, audience=AUDIENCE, **kwargs)
    if kind == "both":
        return TokenVerifier(
            hs256_secret=SECRET, jwks_url=jwks_url, issuer=ISSUER, audience=AUDIENCE, **kwargs
        )
    if kind == "cognito":
        return TokenVerifier(
            jwks_url=jwks_url, issuer=ISSUER, cognito_client_id=CLIENT_ID, **kwargs
        )
    raise AssertionError(kind)


async def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(TokenError) as info:
        await verifier.verify(token)
    assert type(info.value) is TokenError
    reason = str(info.value)
    assert reason and len(reason) <= 60 and "\n" not in reason
    return reason


# --- hostile tokens -------------------------------------------------------------------------

Builder = Callable[[Keys], str]
NOW = int(time.time())

HOSTILE: list[tuple[str, str, Builder, str]] = [
    # (id, verifier kind, token builder, expected reason)
    ("alg-none-unsigned", "hs", lambda k: raw_token({"alg": "none"}, claims()), "malformed token"),
    (
        "alg-none-with-signature",
        "both",
        lambda k: raw_token({"alg": "none"}, claims(), b64url(b"x")),
        "unsupported token algorithm",
    ),
    (
        "alg-None-case",
        "hs",
        lambda k: raw_token({"alg": "None"}, claims(), b64url(b"x")),
        "unsupported token algorithm",
    ),
    (
        "alg-hs256-lowercase",
        "hs",
        lambda k: raw_token({"alg": "hs256"}, claims(), b64url(b"x")),
        "unsupported token algorithm",
    ),
    ("alg-hs512", "hs", lambda k: hs_token(claims(), alg="HS512"), "unsupported token algorithm"),
    (
        "alg-missing",
        "hs",
        lambda k: raw_token({}, claims(), b64url(b"x")),
        "unsupported token algorithm",
    ),
    (
        "alg-es256",
        "both",
        lambda k: raw_token({"alg": "ES256", "kid": "k1"}, claims(), b64url(b"x" * 64)),
        "unsupported token algorithm",
    ),
    ("hs256-wrong-secret", "hs", lambda k: hs_token(claims(), "w" * 40), "invalid signature"),
    (
        "hs256-tampered-payload",
        "hs",
        lambda k: swap_payload(hs_token(claims()), claims(sub="admin")),
        "invalid signature",
    ),
    ("expired", "hs", lambda k: hs_token(claims(exp=NOW - 3600)), "token expired"),
    ("exp-missing", "hs", lambda k: hs_token(claims(exp=DROP)), "missing required claim"),
    ("exp-null", "hs", lambda k: hs_token(claims(exp=None)), "malformed token"),
    ("exp-string", "hs", lambda k: hs_token(claims(exp="99999999999")), "invalid exp claim"),
    ("exp-bool", "hs", lambda k: hs_token(claims(exp=True)), "token expired"),
    ("exp-infinity", "hs", lambda k: hs_token(claims(exp=float("inf"))), "malformed token"),
    ("exp-nan", "hs", lambda k: hs_token(claims(exp=float("nan"))), "invalid claims"),
    ("iss-wrong", "hs", lambda k: hs_token(claims(iss="https://evil.test/")), "invalid claims"),
    ("iss-prefix", "hs", lambda k: hs_token(claims(iss=ISSUER + "x")), "invalid claims"),
    ("iss-missing", "hs", lambda k: hs_token(claims(iss=DROP)), "missing required claim"),
    ("iss-list", "hs", lambda k: hs_token(claims(iss=[ISSUER])), "invalid claims"),
    ("aud-wrong", "hs", lambda k: hs_token(claims(aud="other-api")), "invalid claims"),
    ("aud-missing", "hs", lambda k: hs_token(claims(aud=DROP)), "missing required claim"),
    ("aud-list-without-ours", "hs", lambda k: hs_token(claims(aud=["a", "b"])), "invalid claims"),
    ("aud-empty-list", "hs", lambda k: hs_token(claims(aud=[])), "invalid claims"),
    ("aud-number", "hs", lambda k: hs_token(claims(aud=1)), "invalid claims"),
    ("sub-missing", "hs", lambda k: hs_token(claims(sub=DROP)), "missing required claim"),
    ("sub-empty", "hs", lambda k: hs_token(claims(sub="")), "invalid subject"),
    ("sub-blank", "hs", lambda k: hs_token(claims(sub="  ")), "invalid subject"),
    ("sub-number", "hs", lambda k: hs_token(claims(sub=42)), "invalid claims"),
    ("nbf-future", "hs", lambda k: hs_token(claims(nbf=NOW + 3600)), "invalid claims"),
    ("nbf-string", "hs", lambda k: hs_token(claims(nbf="0")), "invalid nbf claim"),
    ("iat-future", "hs", lambda k: hs_token(claims(iat=NOW + 3600)), "token issued in the future"),
    ("iat-null", "hs", lambda k: hs_token(claims(iat=None)), "malformed token"),
    (
        "five-segments-jwe",
        "both",
        lambda k: ".".join([b64json({"alg": "RSA-OAEP", "enc": "A256GCM"}), "a", "b", "c", "d"]),
        "encrypted tokens are not accepted",
    ),
    ("two-segments", "hs", lambda k: hs_token(claims()).rsplit(".", 1)[0], "malformed token"),
    ("four-segments", "hs", lambda k: hs_token(claims()) + ".abc", "malformed token"),
    ("garbage", "hs", lambda k: "not a token at all", "malformed token"),
    ("garbage-dots", "hs", lambda k: "a.b.c", "invalid token"),
    ("non-base64url-chars", "hs", lambda k: hs_token(claims()) + "!", "malformed token"),
    ("padded-base64", "hs", lambda k: hs_token(claims()) + "=", "malformed token"),
    ("empty", "hs", lambda k: "", "empty token"),
    (
        "deeply-nested-payload",
        "hs",
        lambda k: hs_signed_raw(b"[" * 2500 + b"]" * 2500),
        "malformed token",
    ),
    ("huge", "hs", lambda k: hs_token(claims(pad="x" * 9000)), "token too long"),
    (
        "header-not-object",
        "hs",
        lambda k: f"{b64json([1])}.{b64json(claims())}.eA",
        "invalid token",
    ),
    ("payload-not-object", "hs", lambda k: hs_token([1]), "invalid token"),
    (
        "crit-header",
        "hs",
        lambda k: hs_token(claims(), header={"crit": ["exp"], "exp": 1}),
        "unsupported token header",
    ),
    (
        "key-confusion-jwks-only",
        "jwks",
        lambda k: hs_token(claims(), public_pem(k.main)),
        "unsupported token algorithm",
    ),
    (
        "key-confusion-both-sources",
        "both",
        lambda k: hs_token(claims(), public_pem(k.main)),
        "invalid signature",
    ),
    (
        "key-confusion-with-kid",
        "both",
        lambda k: hs_token(claims(), public_pem(k.main), header={"kid": "k1"}),
        "invalid signature",
    ),
    (
        "rs256-to-hs-only",
        "hs",
        lambda k: rs_token(claims(), k.main, {"kid": "k1"}),
        "unsupported token algorithm",
    ),
    (
        "rs256-unknown-kid",
        "jwks",
        lambda k: rs_token(claims(), k.main, {"kid": "nope"}),
        "unknown signing key",
    ),
    ("rs256-no-kid", "jwks", lambda k: rs_token(claims(), k.main), "token has no key id"),
    (
        "rs256-kid-not-string",
        "jwks",
        lambda k: rs_token(claims(), k.main, {"kid": 1}),
        "token has no key id",
    ),
    (
        "rs256-other-key-same-kid",
        "jwks",
        lambda k: rs_token(claims(), k.other, {"kid": "k1"}),
        "invalid signature",
    ),
    (
        "rs256-expired",
        "jwks",
        lambda k: rs_token(claims(exp=NOW - 3600), k.main, {"kid": "k1"}),
        "token expired",
    ),
    (
        "rs256-wrong-aud",
        "jwks",
        lambda k: rs_token(claims(aud="x"), k.main, {"kid": "k1"}),
        "invalid claims",
    ),
    (
        "token-use-invalid",
        "cognito",
        lambda k: rs_token(
            cognito_access(token_use="refresh", aud=CLIENT_ID), k.main, {"kid": "k1"}
        ),
        "invalid token_use",
    ),
    (
        "token-use-invalid-hs",
        "hs",
        lambda k: hs_token(claims(token_use="refresh")),
        "invalid token_use",
    ),
    (
        "cognito-access-wrong-client",
        "cognito",
        lambda k: rs_token(cognito_access(client_id="other-client"), k.main, {"kid": "k1"}),
        "invalid client",
    ),
    (
        "cognito-access-no-client",
        "cognito",
        lambda k: rs_token(cognito_access(client_id=DROP), k.main, {"kid": "k1"}),
        "invalid client",
    ),
    (
        "cognito-id-wrong-aud",
        "cognito",
        lambda k: rs_token(claims(aud="other-client", token_use="id"), k.main, {"kid": "k1"}),
        "invalid claims",
    ),
    (
        "cognito-no-token-use-no-aud",
        "cognito",
        lambda k: rs_token(claims(aud=DROP, client_id=CLIENT_ID), k.main, {"kid": "k1"}),
        "missing required claim",
    ),
    (
        "access-token-use-without-cognito-config",
        "jwks",
        lambda k: rs_token(cognito_access(), k.main, {"kid": "k1"}),
        "missing required claim",
    ),
]


@pytest.mark.parametrize(
    ("kind", "build", "reason"),
    [pytest.param(kind, build, reason, id=name) for name, kind, build, reason in HOSTILE],
)
async def test_hostile_token_refused(
    kind: str, build: Builder, reason: str, keys: Keys, shared_jwks: JwksServer
) -> None:
    verifier = make_verifier(kind, shared_jwks.url, leeway=0)
    try:
        assert await refused(verifier, build(keys)) == reason
    finally:
        await verifier.aclose()


async def test_non_string_token_refused() -> None:
    verifier = make_verifier("hs", "")
    assert await refused(verifier, None) == "empty token"  # type: ignore[arg-type]
    assert await refused(verifier, b"a.b.c") == "empty token"  # type: ignore[arg-type]


# --- accepted tokens ------------------------------------------------------------------------


async def test_valid_hs256_minted_token() -> None:
    verifier = make_verifier("hs", "")
    token = mint_hs256(
        SECRET, sub="user-7", email="u7@example.com", name="U7", issuer=ISSUER, audience=AUDIENCE
    )
    result = await verifier.verify(token)
    assert isinstance(result, Claims)
    assert (result.sub, result.email, result.name) == ("user-7", "u7@example.com", "U7")
    assert result.raw["iss"] == ISSUER and result.raw["aud"] == AUDIENCE


async def test_minted_token_extra_claims_and_ttl() -> None:
    verifier = make_verifier("hs", "", leeway=0)
    token = mint_hs256(
        SECRET, sub="u", email=None, issuer=ISSUER, audience=AUDIENCE, extra={"org": "o1"}
    )
    result = await verifier.verify(token)
    assert (result.email, result.name, result.raw["org"]) == (None, None, "o1")
    expired = mint_hs256(
        SECRET, sub="u", email=None, issuer=ISSUER, audience=AUDIENCE, ttl_seconds=-5
    )
    assert await refused(verifier, expired) == "token expired"


async def test_hand_made_hs256_accepted_with_aud_list_containing_ours() -> None:
    verifier = make_verifier("hs", "")
    result = await verifier.verify(hs_token(claims(aud=["other", AUDIENCE])))
    assert result.sub == "user-1"


async def test_valid_rs256_via_jwks(keys: Keys, jwks_server: JwksServer) -> None:
    for kind in ("jwks", "both"):
        verifier = make_verifier(kind, jwks_server.url)
        result = await verifier.verify(rs_token(claims(), keys.main, {"kid": "k1"}))
        assert (result.sub, result.email, result.name) == ("user-1", "ada@example.com", "Ada")
        await verifier.aclose()


async def test_both_sources_accept_hs256_too(shared_jwks: JwksServer) -> None:
    verifier = make_verifier("both", shared_jwks.url)
    assert (await verifier.verify(hs_token(claims()))).sub == "user-1"
    await verifier.aclose()


async def test_cognito_access_token_without_aud(keys: Keys, shared_jwks: JwksServer) -> None:
    verifier = make_verifier("cognito", shared_jwks.url)
    result = await verifier.verify(rs_token(cognito_access(), keys.main, {"kid": "k1"}))
    assert (result.sub, result.email, result.name) == ("user-1", None, "ada")
    await verifier.aclose()


async def test_cognito_access_token_with_audience_also_configured(
    keys: Keys, shared_jwks: JwksServer
) -> None:
    verifier = TokenVerifier(
        jwks_url=shared_jwks.url, issuer=ISSUER, audience=AUDIENCE, cognito_client_id=CLIENT_ID
    )
    assert (await verifier.verify(rs_token(cognito_access(), keys.main, {"kid": "k1"}))).sub
    # Cognito id tokens name the app client in aud, whatever JWT_AUDIENCE says.
    id_token = claims(aud=CLIENT_ID, token_use="id")
    assert (await verifier.verify(rs_token(id_token, keys.main, {"kid": "k1"}))).sub
    await verifier.aclose()


async def test_cognito_id_token_with_at_hash(keys: Keys, shared_jwks: JwksServer) -> None:
    # jose refuses at_hash by default unless given the access token, which an API never has.
    verifier = make_verifier("cognito", shared_jwks.url)
    token_claims = claims(
        aud=CLIENT_ID, name=DROP, token_use="id", at_hash="abc", **{"cognito:username": "ada"}
    )
    result = await verifier.verify(rs_token(token_claims, keys.main, {"kid": "k1"}))
    assert (result.email, result.name) == ("ada@example.com", "ada")
    await verifier.aclose()


async def test_leeway_accepts_recently_expired_token() -> None:
    token = hs_token(claims(exp=int(time.time()) - 10))
    assert (await make_verifier("hs", "", leeway=30).verify(token)).sub == "user-1"
    assert await refused(make_verifier("hs", "", leeway=0), token) == "token expired"


async def test_leeway_applies_to_nbf_and_iat() -> None:
    soon = int(time.time()) + 10
    token = hs_token(claims(nbf=soon, iat=soon))
    assert (await make_verifier("hs", "", leeway=30).verify(token)).sub == "user-1"
    assert await refused(make_verifier("hs", "", leeway=0), token) in {
        "invalid claims",
        "token issued in the future",
    }


# --- constructor validation -----------------------------------------------------------------


@pytest.mark.parametrize("secret", ["", "short", "x" * 31, "é" * 15])
def test_short_hs256_secret_rejected(secret: str) -> None:
    with pytest.raises(ValueError, match="JWT_HS256_SECRET"):
        TokenVerifier(hs256_secret=secret, issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(ValueError, match="JWT_HS256_SECRET"):
        mint_hs256(secret, sub="u", email=None, issuer=ISSUER, audience=AUDIENCE)


def test_multibyte_secret_counts_bytes() -> None:
    TokenVerifier(hs256_secret="é" * 16, issuer=ISSUER, audience=AUDIENCE)


def test_pem_as_hs256_secret_rejected(keys: Keys) -> None:
    with pytest.raises(ValueError, match="JWT_HS256_SECRET"):
        TokenVerifier(hs256_secret=public_pem(keys.main).decode(), issuer=ISSUER, audience="a")


def test_key_source_required() -> None:
    with pytest.raises(ValueError, match="key source"):
        TokenVerifier(issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(ValueError, match="key source"):
        TokenVerifier(jwks_url="", issuer=ISSUER, audience=AUDIENCE)


@pytest.mark.parametrize("leeway", [-1, 61, 3600])
def test_leeway_bounds(leeway: int) -> None:
    with pytest.raises(ValueError, match="leeway"):
        TokenVerifier(hs256_secret=SECRET, issuer=ISSUER, audience=AUDIENCE, leeway=leeway)


@pytest.mark.parametrize("leeway", [0, 60])
def test_leeway_limits_allowed(leeway: int) -> None:
    TokenVerifier(hs256_secret=SECRET, issuer=ISSUER, audience=AUDIENCE, leeway=leeway)


@pytest.mark.parametrize("issuer", [None, ""])
def test_issuer_required(issuer: str | None) -> None:
    with pytest.raises(ValueError, match="JWT_ISSUER"):
        TokenVerifier(hs256_secret=SECRET, issuer=issuer, audience=AUDIENCE)


def test_audience_required_unless_cognito() -> None:
    with pytest.raises(ValueError, match="JWT_AUDIENCE"):
        TokenVerifier(hs256_secret=SECRET, issuer=ISSUER)
    TokenVerifier(hs256_secret=SECRET, issuer=ISSUER, cognito_client_id=CLIENT_ID)


# --- JWKS fetching, caching and failure modes -----------------------------------------------


async def test_jwks_cache_hit_makes_no_second_fetch(keys: Keys, jwks_server: JwksServer) -> None:
    verifier = make_verifier("jwks", jwks_server.url)
    token = rs_token(claims(), keys.main, {"kid": "k1"})
    for _ in range(3):
        await verifier.verify(token)
    assert jwks_server.hits == 1
    await verifier.aclose()


@pytest.mark.parametrize("cooldown", [0.0, 30.0])
async def test_concurrent_verifies_share_one_fetch(
    cooldown: float, keys: Keys, jwks_server: JwksServer
) -> None:
    verifier = make_verifier("jwks", jwks_server.url, jwks_cooldown=cooldown)
    token = rs_token(claims(), keys.main, {"kid": "k1"})
    results = await asyncio.gather(*(verifier.verify(token) for _ in range(20)))
    assert {r.sub for r in results} == {"user-1"}
    assert jwks_server.hits == 1
    await verifier.aclose()


async def test_unknown_kid_refetches_once_then_cooldown(
    keys: Keys, jwks_server: JwksServer
) -> None:
    verifier = make_verifier("jwks", jwks_server.url, jwks_cooldown=0.3)
    await verifier.verify(rs_token(claims(), keys.main, {"kid": "k1"}))
    assert jwks_server.hits == 1
    await asyncio.sleep(0.35)
    unknown = rs_token(claims(), keys.main, {"kid": "unknown"})
    assert await refused(verifier, unknown) == "unknown signing key"
    assert jwks_server.hits == 2
    for _ in range(5):
        assert await refused(verifier, unknown) == "unknown signing key"
    assert jwks_server.hits == 2
    # Known keys are still served from the cache during the cooldown.
    await verifier.verify(rs_token(claims(), keys.main, {"kid": "k1"}))
    assert jwks_server.hits == 2
    await verifier.aclose()


async def test_key_rotation_picked_up_after_refetch(keys: Keys, jwks_server: JwksServer) -> None:
    verifier = make_verifier("jwks", jwks_server.url, jwks_cooldown=0.3)
    await verifier.verify(rs_token(claims(), keys.main, {"kid": "k1"}))
    jwks_server.keys = [public_jwk(keys.rotated, "k2")]
    rotated = rs_token(claims(sub="rotated"), keys.rotated, {"kid": "k2"})
    # Within the cooldown of the first fetch the new kid is not looked up yet.
    assert await refused(verifier, rotated) == "unknown signing key"
    assert jwks_server.hits == 1
    await asyncio.sleep(0.35)
    assert (await verifier.verify(rotated)).sub == "rotated"
    assert jwks_server.hits == 2
    # The old key left the set: it is no longer trusted once the new set is cached.
    assert await refused(verifier, rs_token(claims(), keys.main, {"kid": "k1"})) == (
        "unknown signing key"
    )
    await verifier.aclose()


async def test_cache_ttl_expiry_refetches(keys: Keys, jwks_server: JwksServer) -> None:
    verifier = make_verifier("jwks", jwks_server.url, jwks_cache_ttl=0.2, jwks_cooldown=0)
    token = rs_token(claims(), keys.main, {"kid": "k1"})
    await verifier.verify(token)
    await asyncio.sleep(0.25)
    await verifier.verify(token)
    assert jwks_server.hits == 2
    await verifier.aclose()


async def test_server_stopped_cached_keys_still_work(keys: Keys) -> None:
    server = JwksServer([public_jwk(keys.main, "k1")])
    server.start()
    verifier = make_verifier("jwks", server.url, jwks_cache_ttl=0.2, jwks_cooldown=0)
    token = rs_token(claims(), keys.main, {"kid": "k1"})
    await verifier.verify(token)
    server.stop()
    assert (await verifier.verify(token)).sub == "user-1"  # fresh cache
    await asyncio.sleep(0.25)
    # Cache is stale and every refetch fails: the last good keys keep working.
    for _ in range(3):
        assert (await verifier.verify(token)).sub == "user-1"
    assert await refused(verifier, rs_token(claims(), keys.main, {"kid": "k9"})) == (
        "unknown signing key"
    )
    await verifier.aclose()


async def test_jwks_without_usable_keys_keeps_previous_keys(
    keys: Keys, jwks_server: JwksServer
) -> None:
    verifier = make_verifier("jwks", jwks_server.url, jwks_cache_ttl=0.2, jwks_cooldown=0)
    token = rs_token(claims(), keys.main, {"kid": "k1"})
    await verifier.verify(token)
    jwks_server.keys = [public_jwk(keys.main, "k1", use="enc")]
    await asyncio.sleep(0.25)
    assert (await verifier.verify(token)).sub == "user-1"
    assert jwks_server.hits == 2
    await verifier.aclose()


async def test_server_down_without_cache_fails_closed(keys: Keys) -> None:
    verifier = make_verifier("jwks", closed_port_url(), jwks_cooldown=0)
    token = rs_token(claims(), keys.main, {"kid": "k1"})
    for _ in range(2):
        assert await refused(verifier, token) == "signing keys unavailable"
    await verifier.aclose()


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, b'{"keys": []}'),
        (200, b"<html>not json</html>"),
        (200, b'{"keys": "nope"}'),
        (200, b"[]"),
        (200, b'{"keys": []}'),
        (302, b""),
    ],
    ids=["http-500", "not-json", "keys-not-list", "not-object", "empty-set", "redirect"],
)
async def test_bad_jwks_responses_fail_closed(
    status: int, body: bytes, keys: Keys, jwks_server: JwksServer
) -> None:
    jwks_server.status, jwks_server.body = status, body
    verifier = make_verifier("jwks", jwks_server.url)
    token = rs_token(claims(), keys.main, {"kid": "k1"})
    assert await refused(verifier, token) == "signing keys unavailable"
    assert jwks_server.hits == 1
    await verifier.aclose()


async def test_only_rs256_signature_keys_are_used(keys: Keys, jwks_server: JwksServer) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    jwks_server.keys = [
        {"kty": "oct", "kid": "oct", "k": b64url(SECRET.encode())},
        public_jwk(keys.main, "enc", use="enc"),
        public_jwk(keys.main, "rs512", alg="RS512"),
        {**public_jwk(keys.main, "ec"), "kty": "EC"},
        public_jwk(weak, "weak"),
        {"kty": "RSA", "kid": "broken", "n": 5, "e": "AQAB"},
        public_jwk(keys.main, "good", use="sig", alg="RS256"),
        public_jwk(keys.other, "good"),  # duplicate kid: the first entry wins
    ]
    verifier = make_verifier("jwks", jwks_server.url)
    assert (await verifier.verify(rs_token(claims(), keys.main, {"kid": "good"}))).sub
    for kid in ("oct", "enc", "rs512", "ec", "broken"):
        assert await refused(verifier, rs_token(claims(), keys.main, {"kid": kid})) == (
            "unknown signing key"
        )
    assert await refused(verifier, rs_token(claims(), weak, {"kid": "weak"})) == (
        "unknown signing key"
    )
    oct_token = hs_token(claims(), SECRET, header={"kid": "oct"})
    assert await refused(verifier, oct_token) == "unsupported token algorithm"
    await verifier.aclose()


async def test_jwks_private_parameters_are_ignored(keys: Keys, jwks_server: JwksServer) -> None:
    private = keys.main.private_numbers()
    leaked = public_jwk(keys.main, "k1", d=b64url(private.d.to_bytes(256, "big")))
    jwks_server.keys = [leaked]
    verifier = make_verifier("jwks", jwks_server.url)
    assert (await verifier.verify(rs_token(claims(), keys.main, {"kid": "k1"}))).sub
    await verifier.aclose()


async def test_aclose_is_idempotent(keys: Keys, jwks_server: JwksServer) -> None:
    verifier = make_verifier("jwks", jwks_server.url)
    await verifier.aclose()  # nothing opened yet
    await verifier.verify(rs_token(claims(), keys.main, {"kid": "k1"}))
    await verifier.aclose()
    await verifier.aclose()

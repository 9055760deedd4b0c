"""A tiny OpenID Connect provider for browser tests: discovery, /authorize (a user who is
already signed in there, so it redirects straight back with a code), /token (authorization
code with PKCE S256, and refresh tokens), /jwks. Tokens are RS256 with a key made per run.

It checks what a real provider checks of a public client (client id, redirect URI, PKCE
verifier, one use per code) so the app under test cannot pass by skipping a step, and records
every authorize and token request for the test to look at.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.auth.test_jwt import public_jwk, rs_token


@dataclass
class Person:
    """Who is signed in at the provider."""

    sub: str
    email: str
    name: str


@dataclass
class _Grant:
    challenge: str
    redirect_uri: str
    nonce: str | None
    scope: str


@dataclass
class FakeOidcProvider:
    """Start with start(), stop with stop(); `issuer` is its base URL."""

    client_id: str
    audience: str
    person: Person
    # Lifetime (seconds) of the n-th access token issued (the last one repeats).
    lifetimes: list[int] = field(default_factory=lambda: [3600])
    # How many refresh-token grants succeed; later ones are invalid_grant.
    refreshes_allowed: int = 1_000
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = uuid.uuid4().hex[:8]
        self._codes: dict[str, _Grant] = {}
        self._refresh: dict[str, str] = {}
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.issuer = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
                Route("/jwks", self._jwks),
            ],
            # The browser calls discovery and /token from the app's origin.
            middleware=[
                Middleware(
                    CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"]
                )
            ],
        )
        config = uvicorn.Config(
            app, log_level="error", lifespan="off", http="h11", ws="none", loop="asyncio"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake OIDC provider did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    # endpoints ------------------------------------------------------------------------------
    async def _discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": self.jwks_url,
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["none"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
            }
        )

    async def _jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [public_jwk(self._key, self._kid, alg="RS256", use="sig")]})

    async def _authorize(self, request: Request) -> Response:
        q = dict(request.query_params)
        self.authorize_requests.append(q)
        problem = (
            "unknown client_id"
            if q.get("client_id") != self.client_id
            else "response_type must be code"
            if q.get("response_type") != "code"
            else "PKCE with S256 is required"
            if q.get("code_challenge_method") != "S256" or not q.get("code_challenge")
            else "openid scope is required"
            if "openid" not in q.get("scope", "").split()
            else "state is required"
            if not q.get("state")
            else "redirect_uri is required"
            if not q.get("redirect_uri", "").startswith("http")
            else None
        )
        if problem:
            return Response(problem, status_code=400)
        code = secrets.token_urlsafe(24)
        self._codes[code] = _Grant(
            q["code_challenge"], q["redirect_uri"], q.get("nonce"), q.get("scope", "")
        )
        back = urlencode({"code": code, "state": q["state"]})
        return RedirectResponse(f"{q['redirect_uri']}?{back}", status_code=302)

    async def _token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        self.token_requests.append(form)
        if form.get("client_id") != self.client_id:
            return _error("invalid_client")
        if form.get("grant_type") == "authorization_code":
            grant = self._codes.pop(form.get("code", ""), None)  # one use only
            verifier = form.get("code_verifier", "")
            challenge = _b64url(hashlib.sha256(verifier.encode()).digest())
            if grant is None or grant.redirect_uri != form.get("redirect_uri"):
                return _error("invalid_grant")
            if challenge != grant.challenge:
                return _error("invalid_grant", "PKCE verifier does not match")
            return JSONResponse(self._tokens(grant.nonce, grant.scope))
        if form.get("grant_type") == "refresh_token":
            scope = self._refresh.pop(form.get("refresh_token", ""), None)
            if scope is None or self.refreshes_allowed <= 0:
                return _error("invalid_grant")
            self.refreshes_allowed -= 1
            return JSONResponse(self._tokens(None, scope))
        return _error("unsupported_grant_type")

    # tokens ---------------------------------------------------------------------------------
    def _tokens(self, nonce: str | None, scope: str) -> dict[str, Any]:
        lifetime = self.lifetimes[min(len(self.issued), len(self.lifetimes) - 1)]
        now = int(time.time())
        who = {"sub": self.person.sub, "email": self.person.email, "name": self.person.name}
        common = {"iss": self.issuer, "iat": now, "exp": now + lifetime, **who}
        access = rs_token(
            {**common, "aud": self.audience, "scope": scope, "client_id": self.client_id},
            self._key,
            {"kid": self._kid},
        )
        id_claims = {**common, "aud": self.client_id, **({"nonce": nonce} if nonce else {})}
        self.issued.append(access)
        body: dict[str, Any] = {
            "access_token": access,
            "id_token": rs_token(id_claims, self._key, {"kid": self._kid}),
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": scope,
        }
        if "offline_access" in scope.split():
            refresh = secrets.token_urlsafe(24)
            self._refresh[refresh] = scope
            body["refresh_token"] = refresh
        return body


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _error(code: str, description: str = "") -> Response:
    return JSONResponse({"error": code, "error_description": description}, status_code=400)

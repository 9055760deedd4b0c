"""HTTP guards the view applies before any operation runs, on the fast path and the full one:
CSRF (a preflight-forcing header on requests a browser could send cross-site without one) and
rate limits (a token bucket per principal, or per client IP when anonymous)."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse

from graphql_api.context import Context
from graphql_api.errors import ErrorCode
from graphql_api.orgs.plans import limits_of
from graphql_api.realtime.ratelimit import RATE_LIMITED, RateLimiter, retry_after_seconds
from graphql_api.store import keys

# As Apollo Server's CSRF prevention: a browser sends either header cross-site only after a
# CORS preflight, which the origin allow-list then refuses.
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name")
# The content types a cross-site <form> or no-cors fetch can send without a preflight.
SIMPLE_CONTENT_TYPES = frozenset(
    {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
)
CSRF_MESSAGE = (
    "This request has been blocked as a possible Cross-Site Request Forgery (CSRF): "
    "send it as a POST with Content-Type application/json, or include a non-empty "
    "'apollo-require-preflight' or 'x-apollo-operation-name' header"
)
# An org's plan changes rarely; API-key requests need not read it every time.
PLAN_CACHE_SECONDS = 60.0


def csrf_refusal(request: Request) -> JSONResponse | None:
    """400 for a request that could be a cross-site forgery; None when it is safe.

    A POST with a non-simple Content-Type (application/json) was preflighted by any browser;
    a GET or a simple-typed POST needs one of the preflight headers. The GraphiQL page load
    (a browser's GET with no operation) is checked by the caller before this.
    """
    if any(request.headers.get(h, "").strip() for h in PREFLIGHT_HEADERS):
        return None
    if request.method == "POST":
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media and media not in SIMPLE_CONTENT_TYPES:
            return None
    error = {"message": CSRF_MESSAGE, "extensions": {"code": ErrorCode.BAD_USER_INPUT.value}}
    return JSONResponse({"errors": [error]}, status_code=400)


class RateLimitExceeded(Exception):
    """Raised while building a request's context; the view answers 429."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited for {retry_after} s")
        self.retry_after = retry_after

    def response_error(self) -> dict[str, object]:
        """The GraphQL error (also sent over WebSockets, in the operation's `error`)."""
        return {
            "message": f"Too many requests: retry in {self.retry_after} s",
            "extensions": {"code": ErrorCode.RATE_LIMITED.value, "retryAfter": self.retry_after},
        }

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"errors": [self.response_error()]},
            status_code=429,
            headers={"retry-after": str(self.retry_after)},
        )


class RateLimits:
    """Which bucket a request takes from, and its size."""

    def __init__(self, limiter: RateLimiter, per_user: int, per_anonymous_ip: int) -> None:
        self.limiter = limiter
        self.per_user = per_user
        self.per_anonymous_ip = per_anonymous_ip
        self._plans: dict[str, tuple[float, int]] = {}

    async def check(self, ctx: Context, request: HTTPConnection) -> None:
        principal = ctx.principal
        if principal is None:
            kind, key = "anonymous", f"ip:{request.client.host if request.client else '-'}"
            per_minute = self.per_anonymous_ip
        elif principal.is_api_key and principal.api_key_org:
            kind, key = "api_key", principal.rate_key
            per_minute = await self._plan_rate(ctx, principal.api_key_org)
        else:
            kind, key, per_minute = "user", principal.rate_key, self.per_user
        wait = await self.limiter.take(key, per_minute)
        if wait is not None:
            RATE_LIMITED.labels(kind).inc()
            raise RateLimitExceeded(retry_after_seconds(wait))

    async def _plan_rate(self, ctx: Context, org_id: str) -> int:
        cached = self._plans.get(org_id)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        org: dict[str, Any] | None = await ctx.load(keys.org(org_id))
        rate = limits_of(str(org.get("plan") or "FREE")).requests_per_minute if org else 1
        if len(self._plans) > 10_000:
            self._plans.clear()
        self._plans[org_id] = (now + PLAN_CACHE_SECONDS, rate)
        return rate

"""Rate limits: token buckets per user, per API key (its org's plan) and per anonymous IP,
in Redis (shared by replicas, failing open when Redis is down) and in the memory twin."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from graphql_api.orgs.plans import limits_of
from graphql_api.realtime.ratelimit import (
    RATE_LIMIT_FAILURES,
    MemoryRateLimiter,
    RedisRateLimiter,
)
from graphql_api.view import GraphQLView
from tests.apikeys.keys import CREATE_KEY, by_id, call_with_key
from tests.persisted.manifests import ORG_NAME, manifest, operation, register, sha256
from tests.support.factories import create_org
from tests.support.graphql import token
from tests.support.isolated import IsolatedApp, isolated_app
from tests.support.moto_server import MotoServer
from tests.support.redis_server import RedisServer

QUERY = {"query": "{ __typename }"}
# The same operation down Strawberry's pipeline instead of the fast path.
QUERY_FULL = {"query": "{ __typename }", "extensions": {"tracing": False}}


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own (it may be stopped and restarted)."""
    with RedisServer() as server:
        yield server


def bearer(sub: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token(sub)}"}


async def post(http: httpx.AsyncClient, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await http.post(
        "/graphql",
        content=json.dumps(body),
        headers={"content-type": "application/json", **headers},
    )


def assert_limited(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    retry = error["extensions"]["retryAfter"]
    assert isinstance(retry, int) and 1 <= retry <= 60
    assert response.headers["retry-after"] == str(retry)
    return retry


def view_of(iso: IsolatedApp) -> GraphQLView:
    for route in iso.app.routes:
        if isinstance(route, Route) and isinstance(route.endpoint, GraphQLView):
            return route.endpoint
    raise AssertionError("no GraphQL view")


@asynccontextmanager
async def limited_app(moto: MotoServer, **overrides: Any) -> AsyncIterator[IsolatedApp]:
    settings: dict[str, Any] = {
        "rate_limit_enabled": True,
        "rate_limit_per_minute": 3,
        "rate_limit_anonymous_per_minute": 2,
        **overrides,
    }
    async with isolated_app(moto, **settings) as iso:
        yield iso


async def check_user_buckets(iso: IsolatedApp, user: str) -> None:
    headers = bearer(user)
    # Both paths take from the same bucket: 3 tokens.
    for body in (QUERY, QUERY_FULL, QUERY):
        response = await post(iso.http, body, **headers)
        assert response.status_code == 200, response.text
    assert_limited(await post(iso.http, QUERY, **headers))
    assert_limited(await post(iso.http, QUERY_FULL, **headers))
    # Under graphql-response+json too (the status is 429 whatever the media type).
    assert_limited(
        await post(iso.http, QUERY, accept="application/graphql-response+json", **headers)
    )
    # Another user has a bucket of their own.
    other = await post(iso.http, QUERY, **bearer(f"{user}-other"))
    assert other.status_code == 200


async def test_user_bucket_in_memory(moto: MotoServer) -> None:
    async with limited_app(moto) as iso:
        assert isinstance(view_of(iso).rate_limits.limiter, MemoryRateLimiter)  # type: ignore[union-attr]
        await check_user_buckets(iso, "rl-mem")


async def test_user_bucket_in_redis_is_shared_by_replicas(
    moto: MotoServer, redis: RedisServer
) -> None:
    async with limited_app(moto, redis_url=redis.url) as iso:
        assert isinstance(view_of(iso).rate_limits.limiter, RedisRateLimiter)  # type: ignore[union-attr]
        await check_user_buckets(iso, "rl-redis")
        assert redis.command("EXISTS", "ratelimit:user:rl-redis") == 1
        ttl = redis.command("PTTL", "ratelimit:user:rl-redis")
        assert 0 < ttl <= 61_000
        # A second replica on the same Redis sees the same empty bucket.
        async with limited_app(moto, redis_url=redis.url) as replica:
            assert_limited(await post(replica.http, QUERY, **bearer("rl-redis")))


async def test_anonymous_callers_are_limited_per_ip(moto: MotoServer) -> None:
    async with limited_app(moto) as iso:
        for _ in range(2):
            assert (await post(iso.http, QUERY)).status_code == 200
        assert_limited(await post(iso.http, QUERY))
        # A user from the same address has a bucket of their own.
        assert (await post(iso.http, QUERY, **bearer("rl-anon-user"))).status_code == 200


async def test_tokens_refill_over_time() -> None:
    limiter = MemoryRateLimiter()
    per_minute = 600  # 10 a second
    for _ in range(per_minute):
        assert await limiter.take("k", per_minute) is None
    wait = await limiter.take("k", per_minute)
    assert wait is not None and 0 < wait <= 0.1
    await asyncio.sleep(0.12)
    assert await limiter.take("k", per_minute) is None


async def test_redis_down_fails_open(moto: MotoServer, redis: RedisServer) -> None:
    async with limited_app(moto, redis_url=redis.url) as iso:
        headers = bearer("rl-down")
        for _ in range(3):
            assert (await post(iso.http, QUERY, **headers)).status_code == 200
        assert_limited(await post(iso.http, QUERY, **headers))
        redis.stop()
        failures = RATE_LIMIT_FAILURES._value.get()
        for _ in range(3):
            response = await post(iso.http, QUERY, **headers)
            assert response.status_code == 200, response.text
        assert RATE_LIMIT_FAILURES._value.get() == failures + 3
        redis.start()
        # Back: buckets start again (the restarted server kept nothing) and limit again.
        for _ in range(3):
            assert (await post(iso.http, QUERY, **headers)).status_code == 200
        assert_limited(await post(iso.http, QUERY, **headers))


async def test_api_keys_take_their_orgs_plan_rate(moto: MotoServer) -> None:
    async with limited_app(moto, rate_limit_per_minute=1_000) as iso:
        org = await create_org(iso.client_for, roles=["ADMIN"], plan="STARTER")
        admin = org.clients["ADMIN"]
        await register(admin, org.id, "partner", manifest(operation(ORG_NAME)))
        created = await admin.data(
            CREATE_KEY,
            {
                "input": {
                    "orgId": org.id,
                    "name": "Partner",
                    "role": "VIEWER",
                    "manifest": "partner",
                }
            },
        )
        secret = created["createApiKey"]["secret"]
        response = await call_with_key(iso.http, secret, by_id(sha256(ORG_NAME), {"id": org.id}))
        assert response.status_code == 200, response.text
        limiter = view_of(iso).rate_limits.limiter  # type: ignore[union-attr]
        assert isinstance(limiter, MemoryRateLimiter)
        buckets = {k: v for k, v in limiter._buckets.items() if k.startswith("key:")}
        assert len(buckets) == 1
        tokens = next(iter(buckets.values()))[0]
        # One token taken from a bucket of the STARTER plan's size (not the user default).
        rate = limits_of("STARTER").requests_per_minute
        assert rate - 1 <= tokens < rate


@pytest.mark.parametrize("enabled", [None, False])
async def test_off_in_the_test_environment_unless_enabled(
    moto: MotoServer, enabled: bool | None
) -> None:
    overrides = {} if enabled is None else {"rate_limit_enabled": enabled}
    async with isolated_app(moto, create_table=False, rate_limit_per_minute=1, **overrides) as iso:
        assert view_of(iso).rate_limits is None
        for _ in range(3):
            assert (await post(iso.http, QUERY)).status_code == 200

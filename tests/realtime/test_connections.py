"""The connections-per-user registry: both twins admit up to the limit and give places back;
Redis leases expire when their replica stops renewing them (a crashed replica), and a Redis
outage lets connections in (fails open)."""

from __future__ import annotations

import asyncio

import pytest

from graphql_api.realtime.connections import (
    ConnectionRegistry,
    MemoryConnectionRegistry,
    RedisConnectionRegistry,
)
from tests.support.redis_server import RedisServer

LEASE = 0.5


@pytest.fixture(params=["memory", "redis"])
async def registry(request: pytest.FixtureRequest) -> ConnectionRegistry:
    if request.param == "memory":
        return MemoryConnectionRegistry()
    server: RedisServer = request.getfixturevalue("redis_server")
    return RedisConnectionRegistry(server.url, lease_seconds=LEASE)


async def test_admits_up_to_the_limit_per_user(registry: ConnectionRegistry) -> None:
    assert await registry.admit("u1", "a", 2)
    assert await registry.admit("u1", "b", 2)
    assert not await registry.admit("u1", "c", 2)
    assert await registry.admit("u1", "a", 2)  # already holds a place
    assert await registry.admit("u2", "c", 2)  # another user
    await registry.release("u1", "a")
    assert await registry.admit("u1", "c", 2)
    await registry.close()


async def test_redis_leases_expire_unless_renewed(redis_server: RedisServer) -> None:
    registry = RedisConnectionRegistry(redis_server.url, lease_seconds=LEASE)
    assert await registry.admit("dead", "a", 1)
    assert await registry.admit("alive", "b", 1)
    for _ in range(3):
        await asyncio.sleep(LEASE / 2)
        await registry.renew([("alive", "b")])
    # "dead"'s replica stopped renewing: its place is free again; "alive"'s is still held.
    assert await registry.admit("dead", "c", 1)
    assert not await registry.admit("alive", "d", 1)
    await registry.close()


async def test_a_redis_outage_fails_open() -> None:
    server = RedisServer()
    server.start()
    registry = RedisConnectionRegistry(server.url, lease_seconds=LEASE)
    assert await registry.admit("u", "a", 1)
    server.stop()
    try:
        assert await registry.admit("u", "b", 1)
        await registry.renew([("u", "a")])  # logged, not raised
        await registry.release("u", "a")
    finally:
        await registry.close()
        server.close()

"""The APQ store's KV backends: a bounded in-memory LRU and Redis (a real redis-server)."""

from __future__ import annotations

import asyncio

import pytest

from graphql_api.persisted.apq import ApqCache
from graphql_api.realtime.kv import MemoryKV, RedisKV, create_kv
from tests.conftest import unique
from tests.support.redis_server import RedisServer


async def test_memory_kv_is_a_bounded_lru_with_ttl() -> None:
    kv = MemoryKV(max_entries=2)
    await kv.set("a", "1", 60)
    await kv.set("b", "2", 60)
    assert await kv.get("a") == "1"  # a is now the most recent
    await kv.set("c", "3", 60)
    assert len(kv) == 2
    assert await kv.get("b") is None
    assert (await kv.get("a"), await kv.get("c")) == ("1", "3")
    await kv.set("short", "x", 1)
    await asyncio.sleep(1.05)
    assert await kv.get("short") is None


async def test_create_kv_picks_the_backend(redis_server: RedisServer) -> None:
    assert isinstance(create_kv(None), MemoryKV)
    assert isinstance(create_kv("memory://"), MemoryKV)
    redis_kv = create_kv(redis_server.url)
    assert isinstance(redis_kv, RedisKV)
    await redis_kv.close()
    with pytest.raises(ValueError, match="unsupported"):
        create_kv("mysql://x")


@pytest.mark.slow
async def test_redis_kv_sets_a_ttl_and_stays_bounded(redis_server: RedisServer) -> None:
    namespace = unique("kv")
    kv = RedisKV(redis_server.url, namespace=namespace, max_entries=3)
    try:
        for i in range(5):
            await kv.set(f"k{i}", f"v{i}", 120)
        assert 0 < int(redis_server.command("TTL", f"{namespace}:k4")) <= 120
        assert int(redis_server.command("ZCARD", f"{namespace}:index")) == 3
        # The oldest entries were evicted, the newest kept.
        assert [await kv.get(f"k{i}") for i in range(5)] == [None, None, "v2", "v3", "v4"]
        assert redis_server.command("EXISTS", f"{namespace}:k0") == 0
    finally:
        await kv.close()


@pytest.mark.slow
async def test_apq_texts_are_shared_between_replicas_through_redis(
    redis_server: RedisServer,
) -> None:
    namespace = unique("apq")
    first, second = (RedisKV(redis_server.url, namespace=namespace) for _ in range(2))
    try:
        replica_a = ApqCache(first, ttl_seconds=60)
        replica_b = ApqCache(second, ttl_seconds=60)
        await replica_a.put("f" * 64, "{ __typename }")
        assert await replica_b.get("f" * 64) == "{ __typename }"
        assert await replica_b.get("e" * 64) is None
    finally:
        await first.close()
        await second.close()


async def test_apq_cache_survives_a_store_outage() -> None:
    """Reads and writes against an unreachable Redis degrade to misses, never to errors."""
    kv = RedisKV("redis://127.0.0.1:9/0")  # nothing listens on the discard port
    try:
        cache = ApqCache(kv, ttl_seconds=60)
        assert await cache.get("a" * 64) is None
        await cache.put("a" * 64, "{ __typename }")
        # The local LRU still answers this process.
        assert await cache.get("a" * 64) == "{ __typename }"
    finally:
        await kv.close()

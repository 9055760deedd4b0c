"""A tiny async key-value store with TTLs: Redis when REDIS_URL is set, memory otherwise.

Used for caches that every replica should share (APQ query texts). Both twins are bounded:
the memory one is an LRU of `max_entries`; the Redis one keeps an index (sorted set by write
time) per namespace and evicts its oldest keys beyond `max_entries`, on top of the TTL, so a
flood of distinct writes cannot grow Redis without limit even with no maxmemory policy.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Protocol
from urllib.parse import urlparse


class KV(Protocol):
    """get/set of short strings with a time to live."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl_seconds: int) -> None: ...

    async def close(self) -> None: ...


class MemoryKV:
    """The embedded twin: a bounded LRU whose entries expire."""

    def __init__(self, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()

    async def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: str, ttl_seconds: int) -> None:
        self._entries[key] = (time.monotonic() + ttl_seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def close(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class RedisKV:
    """Keys `<namespace>:<key>` with EX, indexed in `<namespace>:index` for the size bound."""

    def __init__(self, url: str, *, namespace: str = "kv", max_entries: int = 10_000) -> None:
        from redis.asyncio import Redis

        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._redis: Redis = Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._ns = namespace
        self._index = f"{namespace}:index"
        self._max = max_entries

    def _key(self, key: str) -> str:
        return f"{self._ns}:{key}"

    async def get(self, key: str) -> str | None:
        raw = await self._redis.get(self._key(key))
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    async def set(self, key: str, value: str, ttl_seconds: int) -> None:
        now = time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(key), value, ex=ttl_seconds)
            pipe.zadd(self._index, {key: now})
            # Index entries older than any TTL point at keys Redis already expired.
            pipe.zremrangebyscore(self._index, "-inf", now - ttl_seconds)
            pipe.zcard(self._index)
            results = await pipe.execute()
        excess = int(results[-1]) - self._max
        if excess > 0:
            oldest: list[Any] = await self._redis.zpopmin(self._index, excess)
            members = [pair[0] for pair in oldest]
            names = [m.decode() if isinstance(m, bytes) else str(m) for m in members]
            if names:
                await self._redis.delete(*(self._key(n) for n in names))

    async def close(self) -> None:
        await self._redis.aclose()


def create_kv(url: str | None, *, namespace: str = "kv", max_entries: int = 10_000) -> KV:
    """Redis for "redis://" / "rediss://" URLs; memory for None or "memory://"."""
    if url is None or urlparse(url).scheme == "memory":
        return MemoryKV(max_entries)
    if urlparse(url).scheme in ("redis", "rediss"):
        return RedisKV(url, namespace=namespace, max_entries=max_entries)
    raise ValueError(f"unsupported KV URL scheme: {urlparse(url).scheme!r}")

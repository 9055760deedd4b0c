"""Where presence entries live: Redis across replicas, or a dict in the embedded mode.

An entity's entries are a hash (member -> entry JSON) plus a sorted set (member -> expiry in
ms). An owner refreshes its entries on every heartbeat; anyone may sweep an entity, and the
sweep removes expired members atomically (a Lua script), so exactly one sweeper learns that a
member left and publishes its leave. Both keys expire on their own once nobody writes them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlparse

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


@dataclass(frozen=True, slots=True)
class PresenceWrite:
    """One entry to store: `entity` is the store key of the entity, `member` the entry id."""

    entity: str
    member: str
    data: str
    expires_ms: int


def now_ms() -> int:
    return int(time.time() * 1000)


class PresenceStore(Protocol):
    """The interface both stores implement."""

    async def put(self, writes: Sequence[PresenceWrite]) -> list[bool]:
        """Store entries; True for each one that was not there (a join)."""
        ...

    async def remove(self, entity: str, member: str) -> str | None:
        """Remove one entry; its data if it was there (the caller publishes the leave)."""
        ...

    async def read(self, entity: str) -> dict[str, str]:
        """The entries that have not expired."""
        ...

    async def sweep(self, entity: str) -> dict[str, str]:
        """Remove the expired entries; the ones this call removed."""
        ...

    async def close(self) -> None: ...


_SWEEP = """
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #expired == 0 then return {} end
local data = redis.call('HMGET', KEYS[2], unpack(expired))
redis.call('ZREM', KEYS[1], unpack(expired))
redis.call('HDEL', KEYS[2], unpack(expired))
local out = {}
for i, member in ipairs(expired) do
  out[#out + 1] = member
  out[#out + 1] = data[i] or ''
end
return out
"""


class RedisPresenceStore:
    """Presence in Redis (shared by every replica)."""

    def __init__(self, url: str, *, key_ttl_ms: int) -> None:
        # One immediate retry: the first command after a Redis restart fails on a stale
        # pooled connection.
        self._redis = Redis.from_url(
            url,
            retry=Retry(NoBackoff(), 1),
            socket_connect_timeout=2.0,
            socket_timeout=2.0,
            decode_responses=True,
        )
        self._key_ttl_ms = key_ttl_ms
        self._sweep = self._redis.register_script(_SWEEP)

    @staticmethod
    def _keys(entity: str) -> tuple[str, str]:
        return f"presence:{entity}:exp", f"presence:{entity}:data"

    async def put(self, writes: Sequence[PresenceWrite]) -> list[bool]:
        if not writes:
            return []
        pipe = self._redis.pipeline(transaction=True)
        for w in writes:
            zkey, hkey = self._keys(w.entity)
            pipe.zadd(zkey, {w.member: w.expires_ms})
            pipe.hset(hkey, w.member, w.data)
            pipe.pexpire(zkey, self._key_ttl_ms)
            pipe.pexpire(hkey, self._key_ttl_ms)
        results: list[Any] = await pipe.execute()
        return [bool(results[i * 4]) for i in range(len(writes))]

    async def remove(self, entity: str, member: str) -> str | None:
        zkey, hkey = self._keys(entity)
        pipe = self._redis.pipeline(transaction=True)
        pipe.hget(hkey, member)
        pipe.zrem(zkey, member)
        pipe.hdel(hkey, member)
        data, removed, _ = await pipe.execute()
        return str(data or "") if removed else None

    async def read(self, entity: str) -> dict[str, str]:
        zkey, hkey = self._keys(entity)
        pipe = self._redis.pipeline(transaction=True)
        pipe.zrangebyscore(zkey, f"({now_ms()}", "+inf")
        pipe.hgetall(hkey)
        live, data = await pipe.execute()
        return {m: data[m] for m in live if m in data}

    async def sweep(self, entity: str) -> dict[str, str]:
        zkey, hkey = self._keys(entity)
        flat: list[str] = await self._sweep(keys=[zkey, hkey], args=[now_ms()])
        return dict(zip(flat[::2], flat[1::2], strict=True))

    async def close(self) -> None:
        await self._redis.aclose()


class MemoryPresenceStore:
    """The embedded twin: same semantics within one process."""

    def __init__(self) -> None:
        self._entities: dict[str, dict[str, tuple[int, str]]] = {}

    async def put(self, writes: Sequence[PresenceWrite]) -> list[bool]:
        added = []
        for w in writes:
            entries = self._entities.setdefault(w.entity, {})
            added.append(w.member not in entries)
            entries[w.member] = (w.expires_ms, w.data)
        return added

    async def remove(self, entity: str, member: str) -> str | None:
        entries = self._entities.get(entity, {})
        entry = entries.pop(member, None)
        if not entries:
            self._entities.pop(entity, None)
        return entry[1] if entry else None

    async def read(self, entity: str) -> dict[str, str]:
        now = now_ms()
        return {m: d for m, (exp, d) in self._entities.get(entity, {}).items() if exp > now}

    async def sweep(self, entity: str) -> dict[str, str]:
        now = now_ms()
        entries = self._entities.get(entity, {})
        expired = {m: d for m, (exp, d) in entries.items() if exp <= now}
        for member in expired:
            del entries[member]
        if not entries:
            self._entities.pop(entity, None)
        return expired

    async def close(self) -> None:
        self._entities.clear()


def create_presence_store(url: str, *, key_ttl_ms: int) -> PresenceStore:
    """The store for a broadcast URL: Redis for redis(s)://, in memory for memory://."""
    if urlparse(url).scheme in ("redis", "rediss"):
        return RedisPresenceStore(url, key_ttl_ms=key_ttl_ms)
    return MemoryPresenceStore()

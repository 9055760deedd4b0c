"""Open WebSocket connections per user, counted across replicas: Redis when REDIS_URL is set,
memory otherwise.

Each connection holds a lease in a sorted set per user (member: the connection id, score:
when the lease expires). A replica renews its connections' leases every heartbeat and removes
them on close; a replica that dies without saying goodbye loses its leases when they expire,
so its users are not locked out for long. Admission (drop expired leases, count, add) is one
atomic script, so two replicas admitting the same user at once cannot both take the last
place. When Redis is unreachable admission fails open (logged and counted), as rate limits do.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol
from urllib.parse import urlparse

from prometheus_client import Counter

from graphql_api.metrics import REGISTRY

log = logging.getLogger("graphql_api.connections")

CONNECTION_LIMIT_FAILURES = Counter(
    "websocket_connection_limit_failures_total",
    "Connection-limit checks that could not reach Redis (connections were let in)",
    registry=REGISTRY,
)

# KEYS[1]: the user's set. ARGV: connection id, limit, lease ms.
# Returns 1 when admitted (or already holding a lease), 0 when the user is at the limit.
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and
   redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease)
return 1
"""
# KEYS: users' sets; ARGV[1]: lease ms, then one connection id per key.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', now + lease, ARGV[i + 1])
  redis.call('PEXPIRE', key, lease)
end
return #KEYS
"""


class ConnectionRegistry(Protocol):
    """Leases of open connections, per user."""

    async def admit(self, user: str, connection: str, limit: int) -> bool: ...

    async def renew(self, leases: Iterable[tuple[str, str]]) -> None: ...

    async def release(self, user: str, connection: str) -> None: ...

    async def close(self) -> None: ...


class MemoryConnectionRegistry:
    """The embedded twin (one process: leases never outlive it, so they need no expiry)."""

    def __init__(self) -> None:
        self._open: dict[str, set[str]] = {}

    async def admit(self, user: str, connection: str, limit: int) -> bool:
        mine = self._open.setdefault(user, set())
        if connection not in mine and len(mine) >= limit:
            return False
        mine.add(connection)
        return True

    async def renew(self, leases: Iterable[tuple[str, str]]) -> None:
        return None

    async def release(self, user: str, connection: str) -> None:
        mine = self._open.get(user)
        if mine is not None:
            mine.discard(connection)
            if not mine:
                del self._open[user]

    async def close(self) -> None:
        self._open.clear()


class RedisConnectionRegistry:
    """Sorted sets `<namespace>:<user>`; leases last `lease_seconds` unless renewed."""

    # Renewals are sent in batches of this many keys (one script call each).
    RENEW_BATCH = 500

    def __init__(self, url: str, *, lease_seconds: float, namespace: str = "wsconn") -> None:
        from redis.asyncio import Redis

        self._redis: Redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._admit = self._redis.register_script(_ADMIT)
        self._renew = self._redis.register_script(_RENEW)
        self._lease_ms = int(lease_seconds * 1000)
        self._ns = namespace

    async def admit(self, user: str, connection: str, limit: int) -> bool:
        from redis.exceptions import RedisError

        try:
            admitted = await self._admit(
                keys=[f"{self._ns}:{user}"], args=[connection, limit, self._lease_ms]
            )
        except (RedisError, OSError) as exc:
            CONNECTION_LIMIT_FAILURES.inc()
            log.warning("connection limit check failed open: %s", exc)
            return True
        return bool(int(admitted))

    async def renew(self, leases: Iterable[tuple[str, str]]) -> None:
        from redis.exceptions import RedisError

        batch = list(leases)
        try:
            for start in range(0, len(batch), self.RENEW_BATCH):
                part = batch[start : start + self.RENEW_BATCH]
                await self._renew(
                    keys=[f"{self._ns}:{user}" for user, _ in part],
                    args=[self._lease_ms, *(connection for _, connection in part)],
                )
        except (RedisError, OSError) as exc:
            # Leases then expire and admission counts fewer connections: fails open too.
            CONNECTION_LIMIT_FAILURES.inc()
            log.warning("connection lease renewal failed: %s", exc)

    async def release(self, user: str, connection: str) -> None:
        from redis.exceptions import RedisError

        try:
            await self._redis.zrem(f"{self._ns}:{user}", connection)
        except (RedisError, OSError) as exc:
            log.warning("connection lease release failed (it expires): %s", exc)

    async def close(self) -> None:
        await self._redis.aclose()


def create_connection_registry(url: str | None, *, lease_seconds: float) -> ConnectionRegistry:
    """Redis for "redis://" / "rediss://" URLs; memory for None or "memory://"."""
    scheme = urlparse(url).scheme if url else "memory"
    if scheme == "memory":
        return MemoryConnectionRegistry()
    if scheme in ("redis", "rediss"):
        return RedisConnectionRegistry(url or "", lease_seconds=lease_seconds)
    raise ValueError(f"unsupported connection registry URL scheme: {scheme!r}")

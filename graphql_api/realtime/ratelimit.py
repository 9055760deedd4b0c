"""Token-bucket rate limits: Redis (one atomic script) when REDIS_URL is set, memory otherwise.

A bucket holds up to `per_minute` tokens and refills at `per_minute / 60` a second; a request
takes one. Redis keeps buckets shared by every replica, on Redis' own clock (TIME inside the
script) so replicas with skewed clocks agree. When Redis is unreachable the limiter fails
open: requests keep working, the failure is logged and counted.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from typing import Protocol
from urllib.parse import urlparse

from prometheus_client import Counter

from graphql_api.metrics import REGISTRY

log = logging.getLogger("graphql_api.ratelimit")

RATE_LIMIT_FAILURES = Counter(
    "rate_limit_failures_total",
    "Rate-limit checks that could not reach Redis (requests were let through)",
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "rate_limited_total", "Requests refused by a rate limit", ["kind"], registry=REGISTRY
)

# KEYS[1]: the bucket. ARGV[1]: capacity, ARGV[2]: tokens per millisecond.
# Returns {1, 0} when a token was taken, {0, milliseconds until one is available} otherwise.
_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(bucket[1])
local ts = tonumber(bucket[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 1000)
return {allowed, wait}
"""


class RateLimiter(Protocol):
    """Takes a token from a bucket; answers None (allowed) or the seconds to wait."""

    async def take(self, key: str, per_minute: int) -> float | None: ...

    async def close(self) -> None: ...


class MemoryRateLimiter:
    """The embedded twin: buckets in a bounded LRU (an idle bucket is full anyway)."""

    def __init__(self, max_buckets: int = 100_000) -> None:
        self._max = max_buckets
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    async def take(self, key: str, per_minute: int) -> float | None:
        now = time.monotonic()
        rate = per_minute / 60.0
        tokens, ts = self._buckets.get(key, (float(per_minute), now))
        tokens = min(float(per_minute), tokens + (now - ts) * rate)
        wait: float | None = None
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / rate
        self._buckets[key] = (tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        return wait

    async def close(self) -> None:
        self._buckets.clear()


class RedisRateLimiter:
    """Buckets as Redis hashes `<namespace>:<key>`, updated by one Lua script."""

    def __init__(self, url: str, *, namespace: str = "ratelimit") -> None:
        from redis.asyncio import Redis

        # Short timeouts: a slow Redis must not hold every request up (it fails open).
        self._redis: Redis = Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._script = self._redis.register_script(_TAKE)
        self._ns = namespace

    async def take(self, key: str, per_minute: int) -> float | None:
        from redis.exceptions import RedisError

        try:
            allowed, wait_ms = await self._script(
                keys=[f"{self._ns}:{key}"], args=[per_minute, per_minute / 60_000.0]
            )
        except (RedisError, OSError) as exc:
            RATE_LIMIT_FAILURES.inc()
            log.warning("rate limit check failed open: %s", exc)
            return None
        return None if int(allowed) else int(wait_ms) / 1000.0

    async def close(self) -> None:
        await self._redis.aclose()


def create_rate_limiter(url: str | None) -> RateLimiter:
    """Redis for "redis://" / "rediss://" URLs; memory for None or "memory://"."""
    scheme = urlparse(url).scheme if url else "memory"
    if scheme == "memory":
        return MemoryRateLimiter()
    if scheme in ("redis", "rediss"):
        return RedisRateLimiter(url or "")
    raise ValueError(f"unsupported rate limit URL scheme: {scheme!r}")


def retry_after_seconds(wait: float) -> int:
    """Whole seconds for Retry-After (at least 1: 0 would invite an immediate retry)."""
    return max(1, math.ceil(wait))

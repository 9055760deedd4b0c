"""Automatic persisted queries: query texts by SHA-256, shared through the KV store.

An in-process LRU sits in front of the shared store (Redis, or memory in the embedded
default), so a hot hash costs no network round trip. The text found for a hash then hits the
schema's document cache, which holds the parsed and validated document: a known hash is
neither parsed nor validated again.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from prometheus_client import Counter

from graphql_api.metrics import REGISTRY
from graphql_api.realtime.kv import KV

log = logging.getLogger(__name__)

PERSISTED_QUERIES = Counter(
    "persisted_queries_total",
    "Persisted-query lookups by kind (apq, manifest, safelist) and outcome",
    ["kind", "outcome"],
    registry=REGISTRY,
)

# A query is stored under this namespace in the KV store.
KEY_PREFIX = "apq:"
# Longer texts are executed but not stored (they would crowd out everything else).
MAX_STORED_CHARS = 50_000


class ApqCache:
    """hash -> query text: a local LRU in front of the shared KV store."""

    def __init__(self, kv: KV, *, ttl_seconds: int, local_size: int = 1000) -> None:
        self._kv = kv
        self._ttl = ttl_seconds
        self._local: OrderedDict[str, str] = OrderedDict()
        self._local_size = local_size

    async def get(self, sha256: str) -> str | None:
        text = self._local.get(sha256)
        if text is not None:
            self._local.move_to_end(sha256)
            return text
        try:
            text = await self._kv.get(KEY_PREFIX + sha256)
        except Exception as exc:
            # A cache outage degrades to misses: clients resend the text and still work.
            log.warning("APQ store read failed: %r", exc)
            return None
        if text is not None:
            self._remember(sha256, text)
        return text

    async def put(self, sha256: str, text: str) -> None:
        """Store a text whose hash the caller has verified."""
        if len(text) > MAX_STORED_CHARS:
            return
        self._remember(sha256, text)
        try:
            await self._kv.set(KEY_PREFIX + sha256, text, self._ttl)
        except Exception as exc:
            log.warning("APQ store write failed: %r", exc)

    def _remember(self, sha256: str, text: str) -> None:
        self._local[sha256] = text
        self._local.move_to_end(sha256)
        while len(self._local) > self._local_size:
            self._local.popitem(last=False)

"""The process-wide real-time runtime: feeds and presence, opened in the app's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from graphql_api.context import Resources
from graphql_api.presence.runtime import PresenceRuntime
from graphql_api.realtime.presence_store import create_presence_store
from graphql_api.subscriptions.fanout import Feeds


@asynccontextmanager
async def open_live(resources: Resources) -> AsyncIterator[None]:
    """Puts `feeds` and `presence` in `resources.extras` for the lifespan."""
    settings = resources.settings
    feeds = Feeds(resources.hub)
    store = create_presence_store(
        settings.redis_url or "memory://",
        key_ttl_ms=int(settings.presence_timeout_seconds * 4 * 1000),
    )
    presence = PresenceRuntime(
        store,
        resources.hub,
        heartbeat=settings.presence_heartbeat_seconds,
        timeout=settings.presence_timeout_seconds,
    )
    await presence.start()
    resources.extras["feeds"] = feeds
    resources.extras["presence"] = presence
    try:
        yield
    finally:
        await presence.stop()
        await feeds.close()

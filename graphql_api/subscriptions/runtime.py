"""The process-wide real-time runtime: feeds, presence and the WebSocket supervisor, opened in
the app's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from graphql_api.context import Resources
from graphql_api.presence.runtime import PresenceRuntime
from graphql_api.realtime.connections import create_connection_registry
from graphql_api.realtime.presence_store import create_presence_store
from graphql_api.subscriptions.fanout import Feeds
from graphql_api.subscriptions.supervisor import ConnectionSupervisor

# A replica's connection leases outlive this many sweeps (a dead replica's expire after it).
LEASE_SWEEPS = 3


@asynccontextmanager
async def open_live(resources: Resources) -> AsyncIterator[None]:
    """Puts `feeds`, `presence` and `connections` in `resources.extras` for the lifespan."""
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
    interval = settings.ws_keepalive_seconds
    connections = ConnectionSupervisor(
        create_connection_registry(
            settings.redis_url, lease_seconds=max(LEASE_SWEEPS * interval, 30.0)
        ),
        max_per_user=settings.ws_max_connections_per_user,
        interval=interval,
        idle_timeout=settings.ws_idle_timeout_seconds,
    )
    await presence.start()
    resources.extras["feeds"] = feeds
    resources.extras["presence"] = presence
    resources.extras["connections"] = connections
    try:
        yield
    finally:
        await connections.close()
        await presence.stop()
        await feeds.close()

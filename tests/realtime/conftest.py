from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from graphql_api.realtime.broadcast import EventHub
from tests.support.redis_server import RedisServer, redis_server, restartable_redis

__all__ = ["hub_url", "make_hub", "redis_server", "restartable_redis"]

MakeHub = Callable[..., Awaitable[EventHub]]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.slow)])
def hub_url(request: pytest.FixtureRequest) -> str:
    """Runs a test once per backend: in-process, then against a real redis-server."""
    if request.param == "memory":
        return "memory://"
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url


@pytest.fixture
async def make_hub() -> AsyncIterator[MakeHub]:
    """Connected EventHubs, disconnected at teardown."""
    hubs: list[EventHub] = []

    async def make(url: str, **kwargs: int) -> EventHub:
        hub = EventHub(url, **kwargs)
        await hub.connect()
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        await hub.disconnect()

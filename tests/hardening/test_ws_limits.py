"""WebSocket limits on two replicas sharing Redis: connections per user (across replicas),
the idle timeout, and rate limits on operations started over a socket.

A cluster of its own, with small limits: at most 3 connections per user, idle after 1 s,
4 operations a minute per user.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.redis_server import RedisServer
from tests.support.serial_moto import SerialMotoServer
from tests.support.servers import AppCluster, unique_sub
from tests.support.wsclient import LEGACY_WS, TRANSPORT_WS, Closed, WSClient, open_ws

MAX_CONNECTIONS = 3
IDLE_SECONDS = 1.0
PER_MINUTE = 4
ME = "query { me { id } }"


@pytest.fixture(scope="module")
async def cluster() -> AsyncIterator[AppCluster]:
    moto = SerialMotoServer().start()
    redis = RedisServer()
    redis.start()
    cluster = AppCluster(
        moto,
        redis.url,
        2,
        ws_max_connections_per_user=MAX_CONNECTIONS,
        ws_idle_timeout_seconds=IDLE_SECONDS,
        ws_keepalive_seconds=0.25,
        rate_limit_enabled=True,
        rate_limit_per_minute=PER_MINUTE,
    )
    cluster.redis, cluster.moto = redis, moto
    await cluster.start()
    yield cluster
    await cluster.aclose()


async def _init(client: WSClient, sub: str) -> dict[str, Any] | Closed:
    """The reply to connection_init, or how the socket closed instead."""
    try:
        reply = await client.init(sub)
        if client.legacy and reply["type"] == "connection_error":
            assert reply["payload"]["message"] == "Too many connections", reply
            return await client.closed()
        return reply
    except Closed as closed:
        return closed


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_connections_per_user_are_counted_across_replicas(
    cluster: AppCluster, protocol: str
) -> None:
    sub = unique_sub()
    urls = [cluster[0].ws_url, cluster[1].ws_url, cluster[0].ws_url]
    opened = [await open_ws(url, protocol, sub=sub) for url in urls]
    try:
        closed = await _init(await open_ws(cluster[1].ws_url, protocol), sub)
        assert isinstance(closed, Closed)
        assert (closed.code, closed.reason) == (4429, "Too many connections")
        # Someone else is not affected.
        async with await open_ws(cluster[1].ws_url, protocol, sub=unique_sub()):
            pass
        # A closed connection gives its place back.
        await opened.pop().close()
        deadline = asyncio.get_running_loop().time() + 5
        while True:
            again = await open_ws(cluster[1].ws_url, protocol)
            reply = await _init(again, sub)
            if not isinstance(reply, Closed) and reply["type"] == "connection_ack":
                opened.append(again)
                break
            assert asyncio.get_running_loop().time() < deadline, "the place never came back"
            await asyncio.sleep(0.1)
    finally:
        for client in opened:
            await client.close()


async def test_an_idle_connection_is_closed_but_one_with_a_subscription_is_not(
    cluster: AppCluster,
) -> None:
    sub = unique_sub()
    idle = await open_ws(cluster[0].ws_url, sub=sub)
    busy = await open_ws(cluster[1].ws_url, sub=sub)
    op = await busy.subscribe("subscription { notificationReceived { id } }")
    # Nothing sent by `idle` for longer than the timeout (it answers pings: not activity).
    closed = await idle.closed(timeout=IDLE_SECONDS * 5)
    assert (closed.code, closed.reason) == (1000, "Idle timeout")
    await asyncio.sleep(IDLE_SECONDS * 2)
    # Still open: the subscription answers, then ends cleanly when stopped.
    await busy.stop(op)
    follow = await busy.subscribe(ME)
    assert (await busy.next_data(follow))["me"]["id"]
    await busy.close()


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_operations_over_a_socket_take_from_the_users_rate_limit(
    cluster: AppCluster, protocol: str
) -> None:
    sub = unique_sub()
    async with await open_ws(cluster[0].ws_url, protocol, sub=sub) as client:
        for _ in range(PER_MINUTE):
            op = await client.subscribe(ME)
            assert (await client.next_data(op))["me"]["id"]
        refused = await client.subscribe(ME)
        message = await client.message_for(refused)
        assert message["type"] == "error", message
        payload = message["payload"]
        error = payload[0] if isinstance(payload, list) else payload
        assert error["extensions"]["code"] == "RATE_LIMITED"
        assert error["extensions"]["retryAfter"] >= 1
    # The same bucket over HTTP-less sockets on the other replica: still refused.
    async with await open_ws(cluster[1].ws_url, protocol, sub=sub) as other:
        op = await other.subscribe(ME)
        message = await other.message_for(op)
        assert message["type"] == "error", message

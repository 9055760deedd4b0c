"""The WebSocket endpoint itself, on a real server process: both protocols, auth in
connection_init, init timeout, origin allow-list, message size, subscription limit,
keep-alive."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus

from tests.support.servers import LIVE_TEST_SETTINGS, AppCluster, unique_sub
from tests.support.wsclient import LEGACY_WS, TRANSPORT_WS, open_ws

pytestmark = pytest.mark.slow

PROTOCOLS = [TRANSPORT_WS, LEGACY_WS]
NOTIFICATIONS = "subscription { notificationReceived { id title } }"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_valid_token_is_acknowledged(cluster: AppCluster, protocol: str) -> None:
    async with await open_ws(cluster[0].ws_url, protocol) as ws:
        assert (await ws.init(unique_sub()))["type"] == "connection_ack"


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_no_init_closes_4408_after_the_timeout(cluster: AppCluster, protocol: str) -> None:
    async with await open_ws(cluster[0].ws_url, protocol) as ws:
        closed = await ws.closed(timeout=LIVE_TEST_SETTINGS["ws_init_timeout_seconds"] + 3)
        assert closed.code == 4408


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_bad_token_closes_4403(cluster: AppCluster, protocol: str) -> None:
    async with await open_ws(cluster[0].ws_url, protocol) as ws:
        await ws.send(
            {"type": "connection_init", "payload": {"authorization": "Bearer not.a.token"}}
        )
        if protocol == LEGACY_WS:
            assert (await ws.receive())["type"] == "connection_error"
        assert (await ws.closed()).code == 4403


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_missing_token_closes_4403(cluster: AppCluster, protocol: str) -> None:
    async with await open_ws(cluster[0].ws_url, protocol) as ws:
        await ws.send({"type": "connection_init", "payload": {}})
        assert (await ws.closed()).code == 4403


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_subscribe_before_ack_closes_4401(cluster: AppCluster, protocol: str) -> None:
    async with await open_ws(cluster[0].ws_url, protocol) as ws:
        await ws.subscribe(NOTIFICATIONS)
        assert (await ws.closed()).code == 4401


async def test_origin_allow_list(cluster: AppCluster) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await open_ws(cluster[0].ws_url, origin="https://evil.example.test")
    assert refused.value.response.status_code == 403
    async with await open_ws(cluster[0].ws_url, origin="https://app.example.test") as ws:
        assert (await ws.init(unique_sub()))["type"] == "connection_ack"


async def test_oversized_message_closes_1009(cluster: AppCluster) -> None:
    async with await open_ws(cluster[0].ws_url) as ws:
        await ws.init(unique_sub())
        padding = "x" * (LIVE_TEST_SETTINGS["ws_max_message_bytes"] + 1)
        await ws.subscribe(NOTIFICATIONS + f" # {padding}")
        assert (await ws.closed()).code == 1009


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_subscriptions_per_connection_are_limited(cluster: AppCluster, protocol: str) -> None:
    limit = LIVE_TEST_SETTINGS["max_subscriptions_per_connection"]
    async with await open_ws(cluster[0].ws_url, protocol) as ws:
        await ws.init(unique_sub())
        for _ in range(limit):
            await ws.subscribe(NOTIFICATIONS)
        over = await ws.subscribe(NOTIFICATIONS)
        message = await ws.message_for(over)
        assert message["type"] == "error"
        assert "limit" in str(message["payload"]).lower()
        # Ending one makes room again.
        await ws.stop("1")
        if protocol == LEGACY_WS:
            assert (await ws.message_for("1"))["type"] == "complete"
        again = await ws.subscribe(NOTIFICATIONS, op_id="again")
        await ws.send({"type": "ping"} if protocol == TRANSPORT_WS else {"type": "noop"})
        with pytest.raises(TimeoutError):
            await ws.message_for(again, timeout=0.5)  # live, silent: no error


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_server_keeps_the_connection_alive(cluster: AppCluster, protocol: str) -> None:
    async with await open_ws(cluster[0].ws_url, protocol) as ws:
        await ws.init(unique_sub())
        op = await ws.subscribe(NOTIFICATIONS)
        with pytest.raises(TimeoutError):
            await ws.message_for(op, timeout=LIVE_TEST_SETTINGS["ws_keepalive_seconds"] * 2.5)
        assert ws.pings >= 1

"""notificationReceived delivers an ASSIGNED notification made on the other replica (lives
here for the shared `cluster` fixture)."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.domain_factories import create_workspace
from tests.support.servers import AppCluster
from tests.support.wsclient import open_ws

pytestmark = pytest.mark.slow

NOTIFICATIONS = "subscription { notificationReceived { id kind entityId read } }"


async def test_assigned_notification_is_delivered_live(cluster: AppCluster) -> None:
    ws = await create_workspace(cluster.client_factory(1))
    mate = ws.client("TEAMMATE").sub
    async with await open_ws(cluster[0].ws_url, sub=mate) as client:
        await client.init(mate)
        op = await client.subscribe(NOTIFICATIONS)
        await asyncio.sleep(0.2)  # the subscription is being set up on the server
        assignment = await ws.assign()
        got = (await client.next_data(op))["notificationReceived"]
    assert got["kind"] == "ASSIGNED"
    assert got["entityId"] == assignment["id"]
    assert got["read"] is False

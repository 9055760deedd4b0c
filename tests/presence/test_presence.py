"""Presence across two replicas sharing Redis: snapshot, join, update, leave on close, one
entry per connection, and the leave of a killed replica's users after the timeout."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.support.factories import OrgFixture, create_org
from tests.support.servers import LIVE_TEST_SETTINGS, AppCluster
from tests.support.wsclient import LEGACY_WS, TRANSPORT_WS, WSClient, open_ws

pytestmark = pytest.mark.slow

PRESENCE = """
subscription($e: ID!) {
  presence(entityId: $e) {
    kind entityId
    entry { connectionId userId name status focusedItemId cursor { x y elementId } }
    entries { connectionId userId }
  }
}"""
UPDATE = """
mutation($input: UpdatePresenceInput!) {
  updatePresence(input: $input) {
    connectionId userId status focusedItemId cursor { x y elementId }
  }
}"""


@pytest.fixture(scope="module")
async def org(cluster: AppCluster) -> OrgFixture:
    return await create_org(cluster.client_factory(0), ["VIEWER", "MEMBER"])


async def present(ws: WSClient, org: OrgFixture, role: str) -> tuple[str, list[dict[str, Any]]]:
    """init + subscribe; returns (op id, snapshot entries)."""
    await ws.init(org.clients[role].sub)
    op = await ws.subscribe(PRESENCE, {"e": org.id})
    snapshot = (await ws.next_data(op))["presence"]
    assert snapshot["kind"] == "SNAPSHOT" and snapshot["entityId"] == org.id
    return op, snapshot["entries"]


async def next_event(ws: WSClient, op: str, timeout: float = 5.0) -> dict[str, Any]:
    event: dict[str, Any] = (await ws.next_data(op, timeout))["presence"]
    return event


async def test_join_update_and_leave_across_replicas(cluster: AppCluster, org: OrgFixture) -> None:
    viewer, member = org.clients["VIEWER"].sub, org.clients["MEMBER"].sub
    async with await open_ws(cluster[0].ws_url) as a:
        op_a, _ = await present(a, org, "VIEWER")
        joined = await next_event(a, op_a)  # a's own join comes after its snapshot
        assert joined["kind"] == "JOIN" and joined["entry"]["userId"] == viewer
        me = joined["entry"]["connectionId"]

        async with await open_ws(cluster[1].ws_url, LEGACY_WS) as b:
            _, entries = await present(b, org, "MEMBER")
            assert {"connectionId": me, "userId": viewer} in entries
            b_join = await next_event(a, op_a)
            assert b_join["kind"] == "JOIN" and b_join["entry"]["userId"] == member
            assert b_join["entry"]["status"] == "ACTIVE" and b_join["entry"]["cursor"] is None

            # b moves its cursor (over its own socket, on the other replica).
            move = await b.subscribe(
                UPDATE,
                {
                    "input": {
                        "entityId": org.id,
                        "cursor": {"x": 10.5, "y": -3, "elementId": "item-7"},
                        "focusedItemId": "item-7",
                    }
                },
            )
            result = (await b.next_data(move))["updatePresence"]
            assert result["connectionId"] == b_join["entry"]["connectionId"]
            update = await next_event(a, op_a)
            assert update["kind"] == "UPDATE"
            assert update["entry"]["cursor"] == {"x": 10.5, "y": -3.0, "elementId": "item-7"}
            assert update["entry"]["focusedItemId"] == "item-7"

            # Omitted fields keep their value; null clears.
            idle = await b.subscribe(UPDATE, {"input": {"entityId": org.id, "status": "IDLE"}})
            assert (await b.next_data(idle))["updatePresence"]["cursor"]["x"] == 10.5
            assert (await next_event(a, op_a))["entry"]["status"] == "IDLE"
            hide = await b.subscribe(UPDATE, {"input": {"entityId": org.id, "cursor": None}})
            assert (await b.next_data(hide))["updatePresence"]["cursor"] is None
            assert (await next_event(a, op_a))["entry"]["cursor"] is None

        # b's socket closed: it leaves at once, not after the timeout.
        started = time.monotonic()
        left = await next_event(a, op_a, timeout=LIVE_TEST_SETTINGS["presence_timeout_seconds"])
        assert left["kind"] == "LEAVE" and left["entry"]["userId"] == member
        assert time.monotonic() - started < 1.0


async def test_one_entry_per_connection(cluster: AppCluster, org: OrgFixture) -> None:
    async with await open_ws(cluster[0].ws_url) as phone:
        op_phone, _ = await present(phone, org, "MEMBER")
        await next_event(phone, op_phone)
        async with await open_ws(cluster[1].ws_url) as laptop:
            op_laptop, _ = await present(laptop, org, "MEMBER")
            await next_event(laptop, op_laptop)
            async with await open_ws(cluster[1].ws_url) as watcher:
                _, entries = await present(watcher, org, "VIEWER")
                mine = [e for e in entries if e["userId"] == org.clients["MEMBER"].sub]
                assert len(mine) == 2
                assert mine[0]["connectionId"] != mine[1]["connectionId"]


async def test_ending_the_subscription_leaves(cluster: AppCluster, org: OrgFixture) -> None:
    async with (
        await open_ws(cluster[0].ws_url, sub=org.clients["VIEWER"].sub) as a,
        await open_ws(cluster[1].ws_url, sub=org.clients["MEMBER"].sub) as b,
    ):
        op_a, _ = await present(a, org, "VIEWER")
        await next_event(a, op_a)
        op_b, _ = await present(b, org, "MEMBER")
        joined = await next_event(a, op_a)
        await b.stop(op_b)
        left = await next_event(a, op_a)
        assert left["kind"] == "LEAVE"
        assert left["entry"]["connectionId"] == joined["entry"]["connectionId"]


async def test_killed_replica_users_leave_after_the_timeout(
    cluster: AppCluster, org: OrgFixture
) -> None:
    timeout = LIVE_TEST_SETTINGS["presence_timeout_seconds"]
    heartbeat = LIVE_TEST_SETTINGS["presence_heartbeat_seconds"]
    async with await open_ws(cluster[0].ws_url) as a:
        op_a, _ = await present(a, org, "VIEWER")
        await next_event(a, op_a)
        doomed = await open_ws(cluster[1].ws_url)
        await present(doomed, org, "MEMBER")
        joined = await next_event(a, op_a)
        cluster[1].kill()
        killed_at = time.monotonic()
        try:
            left = await next_event(a, op_a, timeout=timeout + 2)
            assert left["kind"] == "LEAVE"
            assert left["entry"]["connectionId"] == joined["entry"]["connectionId"]
            waited = time.monotonic() - killed_at
            assert timeout - 2 * heartbeat <= waited <= timeout + heartbeat, waited
        finally:
            await asyncio.gather(doomed.close(), cluster.restart(1))


@pytest.mark.parametrize("protocol", [TRANSPORT_WS])
async def test_other_tenants_entity_is_not_found(
    cluster: AppCluster, org: OrgFixture, protocol: str
) -> None:
    stranger = await create_org(cluster.client_factory(1), [])
    async with await open_ws(cluster[1].ws_url, protocol) as ws:
        await ws.init(stranger.clients["OWNER"].sub)
        op = await ws.subscribe(PRESENCE, {"e": org.id})
        assert (await ws.next_error(op))[0] == "NOT_FOUND"
        update = await ws.subscribe(UPDATE, {"input": {"entityId": org.id, "status": "AWAY"}})
        message = await ws.message_for(update)
        assert message["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_update_over_http_is_refused(cluster: AppCluster, org: OrgFixture) -> None:
    code = await org.clients["VIEWER"].error_code(
        UPDATE, {"input": {"entityId": org.id, "status": "AWAY"}}
    )
    assert code == "BAD_USER_INPUT"

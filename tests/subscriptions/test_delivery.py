"""notificationReceived and assignmentChanged across replicas, and what happens to a slow
consumer (dropped with close 4008, server memory bounded)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from typing import Any

import httpx
import pytest

from graphql_api.realtime import channels
from tests.support.domain_factories import COMMENT, Workspace, create_workspace, due_in
from tests.support.servers import AppCluster, unique_sub
from tests.support.wsclient import LEGACY_WS, Closed, open_ws

pytestmark = pytest.mark.slow

NOTIFICATIONS = "subscription { notificationReceived { id kind title body entityId read } }"
ASSIGNMENTS = """
subscription($org: ID!, $team: ID, $assignee: ID) {
  assignmentChanged(orgId: $org, teamId: $team, assigneeId: $assignee) {
    change assignment { id status notes assignees { userId } team { id } }
  }
}"""


@pytest.fixture(scope="module")
async def ws_(cluster: AppCluster) -> Workspace:
    return await create_workspace(cluster.client_factory(1))


async def test_notification_reaches_every_connection_of_the_user(
    cluster: AppCluster, ws_: Workspace
) -> None:
    run = await ws_.start((await ws_.assign())["id"])
    member = ws_.client("MEMBER").sub
    async with (
        await open_ws(cluster[0].ws_url, sub=member) as phone,
        await open_ws(cluster[1].ws_url, LEGACY_WS, sub=member) as laptop,
        await open_ws(cluster[0].ws_url, sub=unique_sub()) as bystander,
    ):
        ops = []
        for client, sub in ((phone, member), (laptop, member), (bystander, unique_sub())):
            await client.init(sub)
            ops.append(await client.subscribe(NOTIFICATIONS))
        await asyncio.sleep(0.2)  # the subscriptions are being set up on the server
        body = f"@{member} please check the gauge"
        await ws_.client("MANAGER").data(COMMENT, {"run": run["id"], "body": body})
        got = [
            (await c.next_data(op))["notificationReceived"]
            for c, op in zip((phone, laptop), ops, strict=False)
        ]
        assert got[0] == got[1]
        assert got[0]["kind"] == "MENTION" and got[0]["entityId"] == run["id"]
        assert got[0]["body"] == body and got[0]["read"] is False
        with pytest.raises(TimeoutError):
            await bystander.message_for(ops[2], timeout=0.3)


async def test_assignment_changes_are_filtered_on_the_server(
    cluster: AppCluster, ws_: Workspace
) -> None:
    async with (
        await open_ws(cluster[0].ws_url, sub=ws_.client("MEMBER").sub) as mine,
        await open_ws(cluster[0].ws_url, sub=ws_.client("TEAMMATE").sub) as teams,
        await open_ws(cluster[1].ws_url, sub=ws_.client("VIEWER").sub) as everything,
    ):
        await mine.init(ws_.client("MEMBER").sub)
        op_mine = await mine.subscribe(
            ASSIGNMENTS, {"org": ws_.org_id, "assignee": ws_.member_id("MEMBER")}
        )
        await teams.init(ws_.client("TEAMMATE").sub)
        op_team = await teams.subscribe(ASSIGNMENTS, {"org": ws_.org_id, "team": ws_.team_id})
        await everything.init(ws_.client("VIEWER").sub)
        op_all = await everything.subscribe(ASSIGNMENTS, {"org": ws_.org_id})
        await asyncio.sleep(0.2)

        outsider = await ws_.assign(assigneeIds=[ws_.member_id("OUTSIDER")], teamId=None)
        to_team = await ws_.assign(assigneeIds=[], teamId=ws_.team_id)
        to_member = await ws_.assign(teamId=None, dueAt=due_in(48))

        seen_all = [(await everything.next_data(op_all))["assignmentChanged"] for _ in range(3)]
        assert [c["assignment"]["id"] for c in seen_all] == [
            outsider["id"],
            to_team["id"],
            to_member["id"],
        ]
        assert {c["change"] for c in seen_all} == {"CREATED"}
        team_change = (await teams.next_data(op_team))["assignmentChanged"]
        assert team_change["assignment"]["id"] == to_team["id"]
        mine_change = (await mine.next_data(op_mine))["assignmentChanged"]
        assert mine_change["assignment"]["id"] == to_member["id"]
        assert mine_change["assignment"]["status"] == "ASSIGNED"

        # A change to one of mine arrives, with the assignment as it is now.
        await ws_.start(to_member["id"])
        started = (await mine.next_data(op_mine))["assignmentChanged"]
        assert started["change"] == "STARTED"
        assert started["assignment"]["status"] == "IN_PROGRESS"
        for client, op in ((mine, op_mine), (teams, op_team)):
            with pytest.raises(TimeoutError):
                await client.message_for(op, timeout=0.3)


def publish_many(port: int, channel: str, messages: list[str]) -> None:
    """PUBLISH each message, pipelined on one connection (what many writers would do)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        stream = sock.makefile("rb")
        payload = b"".join(
            b"*3\r\n$7\r\nPUBLISH\r\n"
            + f"${len(channel)}\r\n{channel}\r\n".encode()
            + f"${len(m.encode())}\r\n".encode()
            + m.encode()
            + b"\r\n"
            for m in messages
        )
        sock.sendall(payload)
        for _ in messages:
            assert stream.readline().startswith(b":")


def fake_notification(user_id: str, i: int, size: int) -> str:
    nid = uuid.uuid4().hex[:16]
    at = "2030-01-01T00:00:00.000Z"
    item: dict[str, Any] = {
        "pk": f"USER#{user_id}",
        "sk": f"NOTIF#{at}#{nid}",
        "id": nid,
        "userId": user_id,
        "orgId": "org",
        "kind": "MENTION",
        "title": f"burst {i}",
        "body": "x" * size,
        "entityId": "e",
        "createdAt": at,
        "read": False,
    }
    return json.dumps(item)


async def active_subscriptions(replica_url: str) -> float:
    async with httpx.AsyncClient(base_url=replica_url) as http:
        text = (await http.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith("subscriptions_active "):
            return float(line.split()[1])
    raise AssertionError("no subscriptions_active metric")


async def test_slow_consumer_is_dropped_and_memory_stays_bounded(cluster: AppCluster) -> None:
    assert cluster.redis is not None
    replica = cluster[0]
    user = unique_sub()
    count, size = 3000, 16_000
    # max_queue=1: the client library stops reading from the socket almost at once.
    slow = await open_ws(replica.ws_url, max_queue=1, max_size=None)
    try:
        await slow.init(user)
        op = await slow.subscribe(NOTIFICATIONS)
        await asyncio.sleep(0.3)
        baseline = await active_subscriptions(replica.base_url)
        assert baseline >= 1
        rss_before = replica.rss_bytes()

        channel = channels.notifications(user)
        batch = 100
        for start in range(0, count, batch):
            burst = [fake_notification(user, i, size) for i in range(start, start + batch)]
            await asyncio.to_thread(publish_many, cluster.redis.port, channel, burst)
            await asyncio.sleep(0.02)

        # The server gave up on it: its subscription is gone...
        deadline = time.monotonic() + 10
        while await active_subscriptions(replica.base_url) >= baseline:
            assert time.monotonic() < deadline, "the slow consumer was never dropped"
            await asyncio.sleep(0.2)
        # ...without buffering what it could not send (~48 MB went through Redis).
        growth = replica.rss_bytes() - rss_before
        assert growth < 30_000_000, f"server memory grew by {growth} bytes"

        # Once it reads again it gets what was in flight, then a clear close.
        received = 0
        with pytest.raises(Closed) as closed:
            while True:
                message = await slow.message_for(op, timeout=10)
                assert message["type"] == "next"
                received += 1
        assert closed.value.code == 4008
        assert "slow consumer" in closed.value.reason.lower()
        assert 0 < received < count
    finally:
        await slow.close()

    # The replica is healthy: a new subscriber of the same user gets the next one.
    async with await open_ws(replica.ws_url) as fresh:
        await fresh.init(user)
        op = await fresh.subscribe(NOTIFICATIONS)
        await asyncio.sleep(0.3)
        publish_many(
            cluster.redis.port, channels.notifications(user), [fake_notification(user, -1, 10)]
        )
        assert (await fresh.next_data(op))["notificationReceived"]["title"] == "burst -1"

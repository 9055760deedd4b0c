"""runUpdated on two replicas sharing DynamoDB (moto) and Redis: subscribe on one, mutate
on the other; replay; every version exactly once, in order, even across a Redis restart."""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

import pytest

from graphql_api.common.ids import from_global_id, to_global_id
from tests.support.domain_factories import COMMENT, Workspace, create_workspace
from tests.support.factories import create_org
from tests.support.servers import AppCluster
from tests.support.wsclient import LEGACY_WS, TRANSPORT_WS, WSClient, open_ws

pytestmark = pytest.mark.slow

RUN_UPDATED = """
subscription($run: ID!, $after: Int) {
  runUpdated(runId: $run, afterVersion: $after) {
    runId version
    event { version type actorId itemId before after }
    snapshot { id version status }
    progress { done total requiredDone requiredTotal percent }
  }
}"""


@pytest.fixture(scope="module")
async def ws_(cluster: AppCluster) -> Workspace:
    # Mutations go to replica 1; subscriptions mostly to replica 0.
    return await create_workspace(cluster.client_factory(1))


async def new_run(ws_: Workspace) -> str:
    assignment = await ws_.assign()
    run = await ws_.start(assignment["id"])
    return str(run["id"])


async def subscribe(
    client: WSClient, ws_: Workspace, role: str, run_id: str, after: int | None = None
) -> str:
    await client.init(ws_.client(role).sub)
    return await client.subscribe(RUN_UPDATED, {"run": run_id, "after": after})


async def update(client: WSClient, op: str, timeout: float = 5.0) -> dict[str, Any]:
    data: dict[str, Any] = (await client.next_data(op, timeout))["runUpdated"]
    return data


async def versions(client: WSClient, op: str, until: int, timeout: float = 15.0) -> list[int]:
    """Versions received until `until` arrives (or the time is up)."""
    seen: list[int] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while not seen or seen[-1] < until:
                seen.append((await update(client, op, timeout))["version"])
    return seen


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_snapshot_then_live_events_from_the_other_replica(
    cluster: AppCluster, ws_: Workspace, protocol: str
) -> None:
    run_id = await new_run(ws_)
    async with await open_ws(cluster[0].ws_url, protocol) as client:
        op = await subscribe(client, ws_, "VIEWER", run_id)
        first = await update(client, op)
        assert first["version"] == 1 and first["event"] is None
        assert first["snapshot"] == {"id": run_id, "version": 1, "status": "IN_PROGRESS"}
        assert first["progress"] == {
            "done": 0,
            "total": 5,
            "requiredDone": 0,
            "requiredTotal": 3,
            "percent": 0.0,
        }

        await ws_.set_item(run_id, "c1", done=True)  # on replica 1
        second = await update(client, op)
        assert second["version"] == 2 and second["snapshot"] is None
        event = second["event"]
        assert event["version"] == 2 and event["type"] == "ITEM_SET"
        assert event["itemId"] == "c1" and event["actorId"] == ws_.client("MEMBER").sub
        assert event["before"]["done"] is False and event["after"]["done"] is True
        assert second["progress"]["done"] == 1 and second["progress"]["requiredDone"] == 1

        await ws_.set_item(run_id, "c2", done=True)  # optional item
        third = await update(client, op)
        assert third["version"] == 3
        assert (third["progress"]["done"], third["progress"]["requiredDone"]) == (2, 1)
        assert third["progress"]["percent"] == 40.0


async def test_replay_after_version_then_live(cluster: AppCluster, ws_: Workspace) -> None:
    run_id = await new_run(ws_)
    await ws_.set_item(run_id, "c1", done=True)  # v2
    await ws_.set_item(run_id, "c2", done=True)  # v3
    await ws_.set_item(run_id, "c1", done=False)  # v4
    await ws_.client("MEMBER").data(COMMENT, {"run": run_id, "body": "looks fine"})  # v5
    async with await open_ws(cluster[0].ws_url) as client:
        op = await subscribe(client, ws_, "VIEWER", run_id, after=1)
        replayed = [await update(client, op) for _ in range(4)]
        assert [u["version"] for u in replayed] == [2, 3, 4, 5]
        assert [u["event"]["type"] for u in replayed] == [
            "ITEM_SET",
            "ITEM_SET",
            "ITEM_SET",
            "COMMENT_ADDED",
        ]
        # Progress as it was at each version, not as it is now.
        assert [u["progress"]["done"] for u in replayed] == [1, 2, 1, 1]
        assert [u["progress"]["requiredDone"] for u in replayed] == [1, 1, 0, 0]
        await ws_.set_item(run_id, "t1", value="ok")
        live = await update(client, op)
        assert live["version"] == 6 and live["progress"]["done"] == 2

    async with await open_ws(cluster[1].ws_url) as client:
        op = await subscribe(client, ws_, "VIEWER", run_id, after=6)
        with pytest.raises(TimeoutError):
            await client.message_for(op, timeout=0.3)  # nothing to replay, nothing new
        await ws_.set_item(run_id, "n1", value=3)
        assert (await update(client, op))["version"] == 7


async def test_after_version_ahead_of_the_run_is_bad_input(
    cluster: AppCluster, ws_: Workspace
) -> None:
    run_id = await new_run(ws_)
    async with await open_ws(cluster[0].ws_url) as client:
        op = await subscribe(client, ws_, "VIEWER", run_id, after=5)
        assert (await client.next_error(op))[0] == "BAD_USER_INPUT"


async def test_another_tenants_run_is_not_found(cluster: AppCluster, ws_: Workspace) -> None:
    run_id = await new_run(ws_)
    stranger = await create_org(cluster.client_factory(0), [])
    async with await open_ws(cluster[0].ws_url) as client:
        await client.init(stranger.clients["OWNER"].sub)
        op = await client.subscribe(RUN_UPDATED, {"run": run_id})
        foreign = await client.next_error(op)
        assert foreign[0] == "NOT_FOUND"
        # Exactly like a run of their own org that does not exist.
        own_org = from_global_id(stranger.id).org_id
        missing = await client.subscribe(
            RUN_UPDATED, {"run": to_global_id("Run", own_org, "missing")}
        )
        assert await client.next_error(missing) == foreign


async def test_concurrent_writers_on_both_replicas(cluster: AppCluster, ws_: Workspace) -> None:
    run_id = await new_run(ws_)
    writers = [cluster.client_factory(i)(ws_.client("MEMBER").sub) for i in (0, 1)]
    async with (
        await open_ws(cluster[0].ws_url, sub=ws_.client("VIEWER").sub) as at_0,
        await open_ws(cluster[1].ws_url, sub=ws_.client("MANAGER").sub) as at_1,
    ):
        op_0 = await subscribe(at_0, ws_, "VIEWER", run_id, after=1)
        op_1 = await subscribe(at_1, ws_, "MANAGER", run_id)

        async def write(client: Any, item: str, count: int) -> None:
            for i in range(count):
                await client.data(
                    "mutation($r: ID!, $i: String!, $in: ItemStateInput!) "
                    "{ setItemState(runId: $r, itemId: $i, input: $in) { run { version } } }",
                    {"r": run_id, "i": item, "in": {"done": i % 2 == 0}},
                )

        final = 1 + 2 * 5
        # Read while the writes go on, as a client does.
        received_0 = asyncio.create_task(versions(at_0, op_0, final, timeout=60))
        received_1 = asyncio.create_task(versions(at_1, op_1, final, timeout=60))
        await asyncio.gather(write(writers[0], "c1", 5), write(writers[1], "c2", 5))
        got_0, got_1 = await received_0, await received_1
        assert (got_0, got_1) == (list(range(2, final + 1)), list(range(1, final + 1)))


async def test_redis_restart_mid_stream_delivers_every_version_once(
    cluster: AppCluster, ws_: Workspace
) -> None:
    assert cluster.redis is not None
    run_id = await new_run(ws_)
    total = 20
    viewer = ws_.client("VIEWER").sub
    async with (
        await open_ws(cluster[0].ws_url, sub=viewer) as at_0,
        await open_ws(cluster[1].ws_url, sub=viewer) as at_1,
    ):
        op_0 = await subscribe(at_0, ws_, "VIEWER", run_id)
        op_1 = await subscribe(at_1, ws_, "VIEWER", run_id, after=0)
        assert (await update(at_0, op_0))["version"] == 1

        async def mutate() -> None:
            for i in range(total):
                await ws_.set_item(run_id, random.choice(["c1", "c2"]), done=i % 2 == 0)
                if i == 5:
                    cluster.redis.stop()  # type: ignore[union-attr]
                if i == 11:
                    cluster.redis.start()  # type: ignore[union-attr]
                await asyncio.sleep(0.05)

        receive_0 = asyncio.create_task(versions(at_0, op_0, 1 + total, timeout=60))
        receive_1 = asyncio.create_task(versions(at_1, op_1, 1 + total, timeout=60))
        await mutate()
        assert await receive_0 == list(range(2, total + 2))
        assert await receive_1 == list(range(1, total + 2))


async def test_subscribers_sharing_a_replica_get_their_own_selection(
    cluster: AppCluster, ws_: Workspace
) -> None:
    # Events are executed once per distinct selection and variables in a process; each
    # subscriber must still get exactly what it asked for.
    run_id = await new_run(ws_)
    versions_only = "subscription($run: ID!) { runUpdated(runId: $run) { version } }"
    progress_only = (
        "subscription($run: ID!) { runUpdated(runId: $run) { progress { done } v: version } }"
    )
    async with (
        await open_ws(cluster[0].ws_url, sub=ws_.client("VIEWER").sub) as a,
        await open_ws(cluster[0].ws_url, sub=ws_.client("MEMBER").sub) as b,
        await open_ws(cluster[0].ws_url, LEGACY_WS, sub=ws_.client("OWNER").sub) as c,
    ):
        await a.init(ws_.client("VIEWER").sub)
        await b.init(ws_.client("MEMBER").sub)
        await c.init(ws_.client("OWNER").sub)
        op_a = await a.subscribe(versions_only, {"run": run_id})
        op_b = await b.subscribe(progress_only, {"run": run_id})
        op_c = await c.subscribe(versions_only, {"run": run_id}, op_id="c-op")
        for client, op in ((a, op_a), (b, op_b), (c, op_c)):
            await client.next_data(op)  # snapshots
        await ws_.set_item(run_id, "c1", done=True)
        assert await a.next_data(op_a) == {"runUpdated": {"version": 2}}
        assert await b.next_data(op_b) == {"runUpdated": {"progress": {"done": 1}, "v": 2}}
        message = await c.message_for(op_c)
        assert message == {
            "id": "c-op",
            "type": "data",
            "payload": {"data": {"runUpdated": {"version": 2}}},
        }

"""Concurrent edits: per-item versions, one run version per change, CONFLICT on stale items."""

from __future__ import annotations

import asyncio
from typing import Any

from graphql_api.auth.principal import Principal
from graphql_api.common.ids import from_global_id
from graphql_api.context import Context, Resources
from graphql_api.runs import service as runs
from tests.support.domain_factories import SET_ITEM, Workspace

RUN = (
    "query($id: ID!) { run(id: $id) { version progress { done } items { itemId value version } } }"
)


async def _started(ws: Workspace) -> str:
    return str((await ws.start((await ws.assign())["id"]))["id"])


async def _set(ws: Workspace, role: str, run_id: str, item: str, **state: Any) -> dict[str, Any]:
    return await ws.client(role).execute(SET_ITEM, {"run": run_id, "item": item, "input": state})


async def _events(resources: Resources, ws: Workspace, run_id: str) -> list[dict[str, Any]]:
    gid = from_global_id(run_id)
    ctx = Context(resources, principal=Principal(ws.client("VIEWER").sub or ""))
    return await runs.list_events(ctx, gid.org_id, gid.id, 0)


async def test_same_item_same_expected_version_one_wins(
    workspace: Workspace, resources: Resources
) -> None:
    ws = workspace
    run_id = await _started(ws)
    first, second = await asyncio.gather(
        _set(ws, "MEMBER", run_id, "t1", value="mine", expectedVersion=0),
        _set(ws, "TEAMMATE", run_id, "t1", value="yours", expectedVersion=0),
    )
    winners = [b for b in (first, second) if not b.get("errors")]
    losers = [b for b in (first, second) if b.get("errors")]
    assert len(winners) == 1 and len(losers) == 1
    won = winners[0]["data"]["setItemState"]["item"]
    error = losers[0]["errors"][0]
    assert error["extensions"]["code"] == "CONFLICT"
    current = error["extensions"]["current"]
    assert current["itemId"] == "t1"
    assert current["version"] == 1 == error["extensions"]["currentVersion"]
    assert current["value"] == won["value"]
    assert current["updatedBy"] == won["updatedBy"]
    run = (await ws.client("VIEWER").data(RUN, {"id": run_id}))["run"]
    assert run["version"] == 2
    assert [e["version"] for e in await _events(resources, ws, run_id)] == [1, 2]


async def test_different_items_never_conflict(workspace: Workspace, resources: Resources) -> None:
    ws = workspace
    run_id = await _started(ws)
    bodies = await asyncio.gather(
        _set(ws, "MEMBER", run_id, "c1", done=True, expectedVersion=0),
        _set(ws, "TEAMMATE", run_id, "t1", value="a", expectedVersion=0),
        _set(ws, "MANAGER", run_id, "n1", value=4, expectedVersion=0),
    )
    assert [b.get("errors") for b in bodies] == [None, None, None]
    run = (await ws.client("VIEWER").data(RUN, {"id": run_id}))["run"]
    assert run["version"] == 4
    assert run["progress"]["done"] == 3
    versions = {i["itemId"]: i["version"] for i in run["items"]}
    assert versions == {"c1": 1, "t1": 1, "n1": 1, "p1": 0, "c2": 0}
    events = await _events(resources, ws, run_id)
    assert [e["version"] for e in events] == [1, 2, 3, 4]
    assert sorted(e["itemId"] for e in events[1:]) == ["c1", "n1", "t1"]


async def test_stale_expected_version_is_conflict_with_current_state(workspace: Workspace) -> None:
    ws = workspace
    run_id = await _started(ws)
    await _set(ws, "MEMBER", run_id, "n1", value=1, expectedVersion=0)
    await _set(ws, "MEMBER", run_id, "n1", value=2, expectedVersion=1)
    body = await _set(ws, "TEAMMATE", run_id, "n1", value=9, expectedVersion=1)
    extensions = body["errors"][0]["extensions"]
    assert extensions["code"] == "CONFLICT"
    assert extensions["currentVersion"] == 2
    assert extensions["current"]["value"] == 2
    assert extensions["current"]["done"] is True
    assert extensions["current"]["updatedBy"] == ws.client("MEMBER").sub


async def test_without_expected_version_last_write_wins_and_counts_stay_exact(
    workspace: Workspace,
) -> None:
    ws = workspace
    run_id = await _started(ws)
    bodies = await asyncio.gather(
        _set(ws, "MEMBER", run_id, "c1", done=True),
        _set(ws, "TEAMMATE", run_id, "c1", done=True),
    )
    assert [b.get("errors") for b in bodies] == [None, None]
    run = (await ws.client("VIEWER").data(RUN, {"id": run_id}))["run"]
    assert run["version"] == 3
    assert run["progress"]["done"] == 1
    assert {i["itemId"]: i["version"] for i in run["items"]}["c1"] == 2

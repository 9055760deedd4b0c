"""startRun, setItemState (values by kind), submitRun, reopenRun, events and publishing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from graphql_api.auth.principal import Principal
from graphql_api.common.ids import from_global_id
from graphql_api.context import Context, Resources
from graphql_api.realtime import channels
from graphql_api.runs import service as runs
from graphql_api.store import keys
from tests.support.domain_factories import (
    CANCEL_ASSIGNMENT,
    REOPEN,
    SET_ITEM,
    START_RUN,
    SUBMIT,
    Workspace,
)

RUN = """
query($id: ID!, $after: Int, $first: Int, $cursor: String) {
  run(id: $id) {
    id status version
    progress { done total requiredDone requiredTotal percent }
    items { itemId kind required done value version updatedBy maxLength min max maxFiles }
    events(afterVersion: $after, first: $first, after: $cursor) {
      nodes { version type actorId itemId before after }
      pageInfo { hasNextPage endCursor }
    }
    assignment { status history { status note } }
  }
}"""


async def _run(ws: Workspace, run_id: str, **variables: Any) -> dict[str, Any]:
    data = await ws.client("VIEWER").data(RUN, {"id": run_id, **variables})
    run: dict[str, Any] = data["run"]
    return run


async def test_start_run_once(workspace: Workspace) -> None:
    ws = workspace
    aid = (await ws.assign())["id"]
    run = await ws.start(aid, "MEMBER")
    assert run["status"] == "IN_PROGRESS"
    assert run["version"] == 1
    assert run["startedBy"] == ws.client("MEMBER").sub
    assert run["progress"] == {
        "done": 0,
        "total": 5,
        "requiredDone": 0,
        "requiredTotal": 3,
        "percent": 0.0,
    }
    # Starting again (anyone allowed) answers with the same run.
    assert (await ws.start(aid, "TEAMMATE"))["id"] == run["id"]
    detail = await _run(ws, run["id"])
    assert detail["assignment"]["status"] == "IN_PROGRESS"
    assert detail["assignment"]["history"][-1] == {"status": "IN_PROGRESS", "note": "Run started"}
    assert [(e["version"], e["type"]) for e in detail["events"]["nodes"]] == [(1, "STARTED")]


async def test_concurrent_starts_make_one_run(workspace: Workspace) -> None:
    ws = workspace
    aid = (await ws.assign())["id"]
    bodies = await asyncio.gather(
        *(ws.client(role).execute(START_RUN, {"id": aid}) for role in ("MEMBER", "TEAMMATE"))
    )
    assert all(not b.get("errors") for b in bodies), bodies
    assert bodies[0]["data"]["startRun"]["id"] == bodies[1]["data"]["startRun"]["id"]


VALID: list[tuple[str, dict[str, Any], bool, Any]] = [
    ("c1", {"done": True}, True, None),
    ("c1", {"done": False}, False, None),
    ("t1", {"value": "ok"}, True, "ok"),
    ("t1", {"value": "draft", "done": False}, False, "draft"),
    ("n1", {"value": 2.5}, True, 2.5),
    ("n1", {"value": 10}, True, 10),
    ("p1", {"value": ["file-1", "file-2"]}, True, ["file-1", "file-2"]),
    ("p1", {"value": None, "done": True}, True, None),
]
INVALID: list[tuple[str, dict[str, Any]]] = [
    ("c1", {"value": "yes"}),
    ("c1", {}),
    ("t1", {"value": 5}),
    ("t1", {"value": "x" * 11}),
    ("t1", {"done": True}),
    ("n1", {"value": "5"}),
    ("n1", {"value": True}),
    ("n1", {"value": 11}),
    ("n1", {"value": -1}),
    ("n1", {"done": True}),
    ("p1", {"value": "file-1"}),
    ("p1", {"value": [1]}),
    ("p1", {"value": ["a", "a"]}),
    ("p1", {"value": ["a", "b", "c"]}),
]


@pytest.fixture(scope="module")
async def run_id(workspace: Workspace) -> str:
    """A started run of the module's workspace (items answered by the value tests)."""
    return str((await workspace.start((await workspace.assign())["id"]))["id"])


@pytest.mark.parametrize(("item", "state", "done", "value"), VALID)
async def test_valid_values_by_kind(
    workspace: Workspace, run_id: str, item: str, state: dict[str, Any], done: bool, value: Any
) -> None:
    payload = await workspace.set_item(run_id, item, **state)
    assert payload["item"]["itemId"] == item
    assert payload["item"]["done"] is done
    assert payload["item"]["value"] == value
    assert payload["item"]["updatedBy"] == workspace.client("MEMBER").sub


@pytest.mark.parametrize(("item", "state"), INVALID)
async def test_invalid_values_by_kind(
    workspace: Workspace, run_id: str, item: str, state: dict[str, Any]
) -> None:
    variables = {"run": run_id, "item": item, "input": state}
    assert await workspace.client("MEMBER").error_code(SET_ITEM, variables) == "BAD_USER_INPUT"


async def test_unknown_item_is_not_found(workspace: Workspace, run_id: str) -> None:
    variables = {"run": run_id, "item": "nope", "input": {"done": True}}
    assert await workspace.client("MEMBER").error_code(SET_ITEM, variables) == "NOT_FOUND"


async def test_items_progress_and_events(fresh: Workspace) -> None:
    ws = fresh
    run_id = (await ws.start((await ws.assign())["id"]))["id"]
    await ws.set_item(run_id, "c1", done=True)
    await ws.set_item(run_id, "c2", done=True)
    payload = await ws.set_item(run_id, "c1", done=False)
    assert payload["item"]["version"] == 2
    assert payload["run"]["version"] == 4
    assert payload["run"]["progress"] == {
        "done": 1,
        "total": 5,
        "requiredDone": 0,
        "requiredTotal": 3,
        "percent": 20.0,
    }
    run = await _run(ws, run_id, after=1, first=2)
    items = {i["itemId"]: i for i in run["items"]}
    assert [i["itemId"] for i in run["items"]] == ["c1", "t1", "n1", "p1", "c2"]
    assert items["c1"]["done"] is False and items["c1"]["version"] == 2
    assert items["c2"]["done"] is True and items["c2"]["required"] is False
    assert items["t1"] == {
        "itemId": "t1",
        "kind": "TEXT",
        "required": True,
        "done": False,
        "value": None,
        "version": 0,
        "updatedBy": None,
        "maxLength": 10,
        "min": None,
        "max": None,
        "maxFiles": None,
    }
    events = run["events"]
    assert [(e["version"], e["type"], e["itemId"]) for e in events["nodes"]] == [
        (2, "ITEM_SET", "c1"),
        (3, "ITEM_SET", "c2"),
    ]
    assert events["nodes"][0]["before"] == {"done": False, "version": 0}
    assert events["nodes"][0]["after"] == {"done": True, "version": 1}
    assert events["pageInfo"]["hasNextPage"] is True
    rest = await _run(ws, run_id, after=1, first=2, cursor=events["pageInfo"]["endCursor"])
    assert [e["version"] for e in rest["events"]["nodes"]] == [4]
    assert rest["events"]["nodes"][0]["before"] == {"done": True, "version": 1}


async def test_submit_requires_every_required_item(workspace: Workspace) -> None:
    ws = workspace
    aid = (await ws.assign())["id"]
    run_id = (await ws.start(aid))["id"]
    await ws.set_item(run_id, "c1", done=True)
    await ws.set_item(run_id, "c2", done=True)
    body = await ws.client("MEMBER").execute(SUBMIT, {"id": run_id})
    error = body["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "missingItems": ["t1", "n1"]}
    await ws.set_item(run_id, "t1", value="done")
    await ws.set_item(run_id, "n1", value=3)
    submitted = (await ws.client("TEAMMATE").data(SUBMIT, {"id": run_id}))["submitRun"]
    assert submitted["status"] == "SUBMITTED"
    assert submitted["version"] == 6
    assert submitted["submittedAt"]
    run = await _run(ws, run_id, after=5)
    assert run["assignment"]["status"] == "COMPLETED"
    assert [e["type"] for e in run["events"]["nodes"]] == ["SUBMITTED"]
    # A submitted run is frozen until a MANAGER+ reopens it.
    frozen = {"run": run_id, "item": "c2", "input": {"done": False}}
    assert await ws.client("MEMBER").error_code(SET_ITEM, frozen) == "BAD_USER_INPUT"
    assert await ws.client("MEMBER").error_code(SUBMIT, {"id": run_id}) == "BAD_USER_INPUT"
    assert await ws.client("MANAGER").error_code(CANCEL_ASSIGNMENT, {"id": aid}) == (
        "BAD_USER_INPUT"
    )
    reopened = await ws.client("MANAGER").data(REOPEN, {"id": run_id, "note": "Redo n1"})
    assert reopened["reopenRun"]["status"] == "IN_PROGRESS"
    assert reopened["reopenRun"]["version"] == 7
    run = await _run(ws, run_id, after=6)
    assert run["assignment"]["status"] == "IN_PROGRESS"
    assert run["assignment"]["history"][-1] == {"status": "IN_PROGRESS", "note": "Redo n1"}
    assert [e["type"] for e in run["events"]["nodes"]] == ["REOPENED"]
    assert await ws.client("MANAGER").error_code(REOPEN, {"id": run_id}) == "BAD_USER_INPUT"
    await ws.set_item(run_id, "c2", done=False)


async def test_cancelled_assignment_freezes_its_run(workspace: Workspace) -> None:
    ws = workspace
    aid = (await ws.assign())["id"]
    run_id = (await ws.start(aid))["id"]
    await ws.client("MANAGER").data(CANCEL_ASSIGNMENT, {"id": aid})
    change = {"run": run_id, "item": "c1", "input": {"done": True}}
    assert await ws.client("MEMBER").error_code(SET_ITEM, change) == "BAD_USER_INPUT"


async def test_events_are_published_after_commit(
    workspace: Workspace, resources: Resources
) -> None:
    ws = workspace
    run_id = (await ws.start((await ws.assign())["id"]))["id"]
    gid = from_global_id(run_id)
    ctx = Context(resources, principal=Principal(ws.client("VIEWER").sub or ""))
    async with resources.hub.subscribe(channels.run(gid.org_id, gid.id)) as messages:
        await ws.set_item(run_id, "n1", value=7)
        message = await asyncio.wait_for(anext(messages), 5)
        # Delivered only once committed: DynamoDB holds the event when it arrives.
        stored = await runs.list_events(ctx, gid.org_id, gid.id, 1)
    event = json.loads(message.data or "")
    assert event["version"] == 2
    assert event["type"] == "ITEM_SET"
    assert event["itemId"] == "n1"
    assert event["after"] == {"done": True, "value": 7, "version": 1}
    assert [e["version"] for e in stored] == [2]
    assert {k: v for k, v in stored[0].items() if k not in ("pk", "sk")} == event
    state = await resources.store.get(keys.run_item(gid.org_id, gid.id, "n1"))
    assert state is not None and state["value"] == 7


@pytest.mark.parametrize("first", [0, 101])
async def test_run_lists_bound_their_page_size(
    workspace: Workspace, run_id: str, first: int
) -> None:
    viewer = workspace.client("VIEWER")
    assert await viewer.error_code(RUN, {"id": run_id, "first": first}) == "BAD_USER_INPUT"
    comments = "query($id: ID!, $n: Int) { run(id: $id) { comments(first: $n) { nodes { id } } } }"
    assert await viewer.error_code(comments, {"id": run_id, "n": first}) == "BAD_USER_INPUT"
    runs_page = (
        "query($id: ID!, $n: Int) { organization(id: $id) { runs(first: $n) { nodes { id } } } }"
    )
    org = {"id": workspace.org_id, "n": first}
    assert await viewer.error_code(runs_page, org) == "BAD_USER_INPUT"

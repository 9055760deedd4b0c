"""createAssignment, updateAssignment, cancelAssignment: rules, history, versions, events."""

from __future__ import annotations

import asyncio
import json

from graphql_api.common.ids import from_global_id, to_global_id
from graphql_api.context import Resources
from graphql_api.realtime import channels
from tests.support.domain_factories import (
    CANCEL_ASSIGNMENT,
    CREATE_ASSIGNMENT,
    CREATE_CHECKLIST,
    START_RUN,
    UPDATE_ASSIGNMENT,
    Workspace,
    due_in,
)

MINE = "{ me { assignments(first: 100) { nodes { id } } } }"
BY_ASSIGNEE = """
query($id: ID!, $assignee: ID, $team: ID, $from: DateTime, $to: DateTime) {
  organization(id: $id) {
    assignments(assigneeId: $assignee, teamId: $team, dueAfter: $from, dueBefore: $to) {
      nodes { id }
    }
  }
}"""
UPDATE_CHECKLIST = """
mutation($input: UpdateChecklistInput!) { updateChecklist(input: $input) { publishedVersion } }"""
CHECKLIST = "query($id: ID!) { checklist(id: $id) { version } }"
AUDIT = """
query($id: ID!, $entity: String) {
  organization(id: $id) { auditLog(entityId: $entity) { nodes { action actorId details } } }
}"""


async def _mine(ws: Workspace, role: str) -> list[str]:
    data = await ws.client(role).data(MINE)
    return [n["id"] for n in data["me"]["assignments"]["nodes"]]


async def _listed(ws: Workspace, **variables: str) -> list[str]:
    data = await ws.client("VIEWER").data(BY_ASSIGNEE, {"id": ws.org_id, **variables})
    return [n["id"] for n in data["organization"]["assignments"]["nodes"]]


async def test_create_assignment(workspace: Workspace) -> None:
    ws = workspace
    due = due_in(5)
    created = await ws.assign(dueAt=due, priority="URGENT", notes="  Bring gloves  ")
    assert created["status"] == "ASSIGNED"
    assert created["priority"] == "URGENT"
    assert created["notes"] == "Bring gloves"
    assert created["version"] == 1
    assert created["checklistVersion"] == 1
    assert created["checklist"] == {"title": "Daily inspection", "version": 1}
    assert created["assignees"][0]["userId"] == ws.client("MEMBER").sub
    assert created["team"]["id"] == ws.team_id
    assert created["run"] is None
    assert created["history"] == [
        {"status": "ASSIGNED", "by": ws.client("MANAGER").sub, "note": None}
    ]
    assert created["id"] in await _mine(ws, "MEMBER")
    local_id = from_global_id(created["id"]).id
    audit = await ws.client("ADMIN").data(AUDIT, {"id": ws.org_id, "entity": local_id})
    (entry,) = audit["organization"]["auditLog"]["nodes"]
    assert entry["action"] == "assignment.created"
    assert entry["actorId"] == ws.client("MANAGER").sub
    assert entry["details"]["priority"] == "URGENT"


async def test_create_uses_the_latest_published_version(fresh: Workspace) -> None:
    ws = fresh
    owner = ws.client("OWNER")
    items = [{"itemId": "only", "title": "The one thing", "kind": "CHECK"}]
    head = await owner.data(CHECKLIST, {"id": ws.checklist_id})
    edit = {"id": ws.checklist_id, "expectedVersion": head["checklist"]["version"], "items": items}
    await owner.data(UPDATE_CHECKLIST, {"input": edit})
    created = await ws.assign()
    assert created["checklistVersion"] == 2
    assert created["checklist"]["version"] == 2
    run = await ws.start(created["id"])
    assert run["progress"]["total"] == 1


async def test_create_validation(workspace: Workspace) -> None:
    ws = workspace
    manager = ws.client("MANAGER")

    async def code(**fields: object) -> str:
        data = {"checklistId": ws.checklist_id, "dueAt": due_in(1), **fields}
        return await manager.error_code(CREATE_ASSIGNMENT, {"input": data})

    assert await code(assigneeIds=[], teamId=None) == "BAD_USER_INPUT"
    assert await code(teamId=ws.team_id, notes="x" * 2001) == "BAD_USER_INPUT"
    draft = await manager.data(
        CREATE_CHECKLIST, {"input": {"orgId": ws.org_id, "title": "Draft", "items": []}}
    )
    assert await code(checklistId=draft["createChecklist"]["id"], teamId=ws.team_id) == (
        "BAD_USER_INPUT"
    )


async def test_too_many_assignees(workspace: Workspace) -> None:
    ws = workspace
    ids = [to_global_id("Member", ws.local_org, f"user-{i}") for i in range(26)]
    data = {"checklistId": ws.checklist_id, "dueAt": due_in(1), "assigneeIds": ids}
    body = await ws.client("MANAGER").execute(CREATE_ASSIGNMENT, {"input": data})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "25" in body["errors"][0]["message"]


async def test_update_moves_every_index(workspace: Workspace) -> None:
    ws = workspace
    created = await ws.assign(dueAt=due_in(1000))
    aid = created["id"]
    updated = await ws.client("MANAGER").data(
        UPDATE_ASSIGNMENT,
        {
            "input": {
                "id": aid,
                "expectedVersion": 1,
                "assigneeIds": [ws.member_id("OUTSIDER")],
                "dueAt": due_in(2000),
                "priority": "LOW",
                "notes": "moved",
            }
        },
    )
    result = updated["updateAssignment"]
    assert result["version"] == 2
    assert result["priority"] == "LOW"
    assert result["notes"] == "moved"
    assert [a["userId"] for a in result["assignees"]] == [ws.client("OUTSIDER").sub]
    assert aid not in await _mine(ws, "MEMBER")
    assert aid in await _mine(ws, "OUTSIDER")
    old_window = {"from": due_in(999), "to": due_in(1001)}
    new_window = {"from": due_in(1999), "to": due_in(2001)}
    assert aid not in await _listed(ws, **old_window)
    assert aid in await _listed(ws, **new_window)
    assert aid in await _listed(ws, team=ws.team_id, **new_window)
    assert aid not in await _listed(ws, assignee=ws.member_id("MEMBER"), **new_window)
    assert aid in await _listed(ws, assignee=ws.member_id("OUTSIDER"), **new_window)
    cleared = await ws.client("MANAGER").data(
        UPDATE_ASSIGNMENT, {"input": {"id": aid, "clearTeam": True}}
    )
    assert cleared["updateAssignment"]["team"] is None
    assert aid not in await _listed(ws, team=ws.team_id, **new_window)
    # Taking away the last assignee and the team leaves nobody: refused.
    nobody = {"input": {"id": aid, "assigneeIds": []}}
    assert await ws.client("MANAGER").error_code(UPDATE_ASSIGNMENT, nobody) == "BAD_USER_INPUT"


async def test_stale_expected_version_is_conflict(workspace: Workspace) -> None:
    ws = workspace
    aid = (await ws.assign())["id"]
    await ws.client("MANAGER").data(UPDATE_ASSIGNMENT, {"input": {"id": aid, "notes": "v2"}})
    body = await ws.client("MANAGER").execute(
        UPDATE_ASSIGNMENT, {"input": {"id": aid, "expectedVersion": 1, "notes": "late"}}
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["currentVersion"] == 2
    body = await ws.client("MANAGER").execute(CANCEL_ASSIGNMENT, {"id": aid, "v": 1})
    assert body["errors"][0]["extensions"] == {"code": "CONFLICT", "currentVersion": 2}


async def test_cancel(workspace: Workspace) -> None:
    ws = workspace
    aid = (await ws.assign())["id"]
    manager = ws.client("MANAGER")
    result = await manager.data(CANCEL_ASSIGNMENT, {"id": aid, "note": "rain", "v": 1})
    cancelled = result["cancelAssignment"]
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["version"] == 2
    assert cancelled["history"][-1] == {
        "status": "CANCELLED",
        "by": manager.sub,
        "note": "rain",
    }
    again = await manager.data(CANCEL_ASSIGNMENT, {"id": aid})
    assert again["cancelAssignment"]["version"] == 2
    update = {"input": {"id": aid, "notes": "x"}}
    assert await manager.error_code(UPDATE_ASSIGNMENT, update) == "BAD_USER_INPUT"
    assert await manager.error_code(START_RUN, {"id": aid}) == "BAD_USER_INPUT"


async def test_changes_are_announced_after_commit(
    workspace: Workspace, resources: Resources
) -> None:
    ws = workspace
    channel = channels.assignments(ws.local_org)
    async with resources.hub.subscribe(channel) as messages:
        created = await ws.assign()
        change = {"id": created["id"], "assigneeIds": [ws.member_id("OUTSIDER")]}
        await ws.client("MANAGER").data(UPDATE_ASSIGNMENT, {"input": change})
        await ws.client("MANAGER").data(CANCEL_ASSIGNMENT, {"id": created["id"]})
        received = [await asyncio.wait_for(anext(messages), 5) for _ in range(3)]
    local_id = from_global_id(created["id"]).id
    events = [json.loads(m.data or "") for m in received]
    assert [(e["type"], e["assignmentId"], e["version"]) for e in events] == [
        ("ASSIGNMENT_CREATED", local_id, 1),
        ("ASSIGNMENT_UPDATED", local_id, 2),
        ("ASSIGNMENT_CANCELLED", local_id, 3),
    ]
    outsider, member = (ws.client(r).sub for r in ("OUTSIDER", "MEMBER"))
    assert events[1]["assigneeIds"] == [outsider]
    assert events[1]["previousAssigneeIds"] == [member]

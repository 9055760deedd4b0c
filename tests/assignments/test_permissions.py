"""Who may do what with assignments (one table), and another tenant's IDs are NOT_FOUND."""

from __future__ import annotations

from typing import Any

import pytest

from graphql_api.common.ids import to_global_id
from tests.support.domain_factories import (
    CANCEL_ASSIGNMENT,
    CREATE_ASSIGNMENT,
    UPDATE_ASSIGNMENT,
    Workspace,
    create_workspace,
    due_in,
)
from tests.support.factories import uid
from tests.support.graphql import GraphQLClient
from tests.support.isolated import IsolatedApp

MANAGERS = {"OWNER", "ADMIN", "MANAGER"}
EVERYONE = {"OWNER", "ADMIN", "MANAGER", "MEMBER", "VIEWER"}
ROLES = ["OWNER", "ADMIN", "MANAGER", "MEMBER", "VIEWER", "STRANGER"]
# operation -> roles allowed; other members get FORBIDDEN, non-members NOT_FOUND.
MATRIX: dict[str, set[str]] = {
    "assignment": EVERYONE,
    "createAssignment": MANAGERS,
    "updateAssignment": MANAGERS,
    "cancelAssignment": MANAGERS,
}
READ = "query($id: ID!) { assignment(id: $id) { id status } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"
LIST = """
query($id: ID!, $assignee: ID, $team: ID) {
  organization(id: $id) { assignments(assigneeId: $assignee, teamId: $team) { nodes { id } } }
}"""
MINE = "query($team: ID) { me { assignments(teamId: $team) { nodes { id } } } }"


@pytest.fixture(scope="module")
async def other(isolated: IsolatedApp) -> tuple[Workspace, str]:
    """Another tenant with an assignment; nobody of the main workspace belongs to it."""
    ws = await create_workspace(isolated.client_for)
    return ws, (await ws.assign())["id"]


def _client(ws: Workspace, role: str) -> GraphQLClient:
    if role == "STRANGER":
        return GraphQLClient(ws.client("OWNER").http, uid("stranger"))
    return ws.client(role)


async def _attempt(ws: Workspace, operation: str, client: GraphQLClient) -> dict[str, Any]:
    if operation == "createAssignment":
        data = {"checklistId": ws.checklist_id, "teamId": ws.team_id, "dueAt": due_in(3)}
        return await client.execute(CREATE_ASSIGNMENT, {"input": data})
    aid = (await ws.assign())["id"]
    if operation == "assignment":
        return await client.execute(READ, {"id": aid})
    if operation == "updateAssignment":
        return await client.execute(UPDATE_ASSIGNMENT, {"input": {"id": aid, "notes": "n"}})
    return await client.execute(CANCEL_ASSIGNMENT, {"id": aid})


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", sorted(MATRIX))
async def test_role_matrix(workspace: Workspace, operation: str, role: str) -> None:
    body = await _attempt(workspace, operation, _client(workspace, role))
    if role in MATRIX[operation]:
        assert not body.get("errors"), body
        assert body["data"][operation]["id"]
    else:
        expected = "NOT_FOUND" if role == "STRANGER" else "FORBIDDEN"
        assert body["errors"][0]["extensions"]["code"] == expected


async def test_other_tenants_ids_are_not_found(
    workspace: Workspace, other: tuple[Workspace, str]
) -> None:
    ws, (theirs, their_assignment) = workspace, other
    manager = ws.client("MANAGER")
    mine = (await ws.assign())["id"]
    base = {"checklistId": ws.checklist_id, "teamId": ws.team_id, "dueAt": due_in(2)}
    their_member = theirs.member_id("MEMBER")
    cases: list[tuple[str, dict[str, Any]]] = [
        (CREATE_ASSIGNMENT, {"input": {**base, "checklistId": theirs.checklist_id}}),
        (CREATE_ASSIGNMENT, {"input": {**base, "assigneeIds": [their_member]}}),
        (CREATE_ASSIGNMENT, {"input": {**base, "teamId": theirs.team_id}}),
        (UPDATE_ASSIGNMENT, {"input": {"id": their_assignment, "notes": "x"}}),
        (UPDATE_ASSIGNMENT, {"input": {"id": mine, "assigneeIds": [their_member]}}),
        (UPDATE_ASSIGNMENT, {"input": {"id": mine, "teamId": theirs.team_id}}),
        (CANCEL_ASSIGNMENT, {"id": their_assignment}),
        (READ, {"id": their_assignment}),
        (NODE, {"id": their_assignment}),
        (LIST, {"id": ws.org_id, "assignee": their_member}),
        (LIST, {"id": ws.org_id, "team": theirs.team_id}),
        (LIST, {"id": theirs.org_id}),
        (MINE, {"team": theirs.team_id}),
    ]
    for query, variables in cases:
        assert await manager.error_code(query, variables) == "NOT_FOUND", variables


async def test_another_tenants_object_looks_missing(
    workspace: Workspace, other: tuple[Workspace, str]
) -> None:
    ws, (_, their_assignment) = workspace, other
    missing = to_global_id("Assignment", ws.local_org, "does-not-exist")
    for query in (READ, NODE, CANCEL_ASSIGNMENT):
        theirs = await ws.client("OWNER").execute(query, {"id": their_assignment})
        absent = await ws.client("OWNER").execute(query, {"id": missing})
        assert theirs["errors"][0]["message"] == absent["errors"][0]["message"]
        assert theirs["errors"][0]["extensions"] == absent["errors"][0]["extensions"]
        assert theirs["errors"][0]["extensions"]["code"] == "NOT_FOUND"

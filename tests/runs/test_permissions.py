"""Who may work on runs (one table), and another tenant's IDs are NOT_FOUND.

MEMBER is assigned directly, TEAMMATE (a MEMBER) through the team, OUTSIDER (a MEMBER) not
at all; STRANGER belongs to another organization only.
"""

from __future__ import annotations

from typing import Any

import pytest

from graphql_api.common.ids import to_global_id
from tests.support.domain_factories import (
    COMMENT,
    REOPEN,
    SET_ITEM,
    START_RUN,
    SUBMIT,
    Workspace,
    create_workspace,
)
from tests.support.factories import uid
from tests.support.graphql import GraphQLClient
from tests.support.isolated import IsolatedApp

WORKERS = {"OWNER", "ADMIN", "MANAGER", "MEMBER", "TEAMMATE"}
MANAGERS = {"OWNER", "ADMIN", "MANAGER"}
ROLES = ["OWNER", "ADMIN", "MANAGER", "MEMBER", "TEAMMATE", "OUTSIDER", "VIEWER", "STRANGER"]
# operation -> roles allowed; other members get FORBIDDEN, non-members NOT_FOUND.
MATRIX: dict[str, set[str]] = {
    "run": WORKERS | {"OUTSIDER", "VIEWER"},
    "startRun": WORKERS,
    "setItemState": WORKERS,
    "submitRun": WORKERS,
    "addComment": WORKERS,
    "reopenRun": MANAGERS,
}
READ = "query($id: ID!) { run(id: $id) { id } }"
STATUS = "query($id: ID!) { run(id: $id) { status } }"
NODE = "query($id: ID!) { node(id: $id) { id } }"


def _client(ws: Workspace, role: str) -> GraphQLClient:
    if role == "STRANGER":
        return GraphQLClient(ws.client("OWNER").http, uid("stranger"))
    return ws.client(role)


@pytest.fixture(scope="module")
async def shared_run(workspace: Workspace) -> str:
    """A run with every required item done, shared by the matrix (submitted and reopened
    as each case needs)."""
    run_id = (await workspace.start((await workspace.assign())["id"]))["id"]
    await workspace.complete_required(run_id, "MANAGER")
    return str(run_id)


async def _ensure(ws: Workspace, run_id: str, status: str) -> None:
    current = (await ws.client("VIEWER").data(STATUS, {"id": run_id}))["run"]["status"]
    if current != status:
        await ws.client("MANAGER").data(SUBMIT if status == "SUBMITTED" else REOPEN, {"id": run_id})


async def _attempt(
    ws: Workspace, run_id: str, operation: str, client: GraphQLClient
) -> dict[str, Any]:
    if operation == "startRun":
        return await client.execute(START_RUN, {"id": (await ws.assign())["id"]})
    if operation == "run":
        return await client.execute(READ, {"id": run_id})
    if operation == "reopenRun":
        await _ensure(ws, run_id, "SUBMITTED")
        return await client.execute(REOPEN, {"id": run_id})
    await _ensure(ws, run_id, "IN_PROGRESS")
    if operation == "setItemState":
        state = {"run": run_id, "item": "c2", "input": {"done": True}}
        return await client.execute(SET_ITEM, state)
    if operation == "addComment":
        return await client.execute(COMMENT, {"run": run_id, "body": "Looks good"})
    return await client.execute(SUBMIT, {"id": run_id})


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", sorted(MATRIX))
async def test_role_matrix(
    workspace: Workspace, shared_run: str, operation: str, role: str
) -> None:
    body = await _attempt(workspace, shared_run, operation, _client(workspace, role))
    if role in MATRIX[operation]:
        assert not body.get("errors"), body
        assert body["data"][operation]
    else:
        expected = "NOT_FOUND" if role == "STRANGER" else "FORBIDDEN"
        assert body["errors"][0]["extensions"]["code"] == expected


@pytest.fixture(scope="module")
async def other(isolated: IsolatedApp) -> tuple[str, str]:
    """Another tenant's assignment and run."""
    ws = await create_workspace(isolated.client_for)
    aid = (await ws.assign())["id"]
    return aid, (await ws.start(aid))["id"]


async def test_other_tenants_ids_are_not_found(
    workspace: Workspace, other: tuple[str, str]
) -> None:
    their_assignment, their_run = other
    owner = workspace.client("OWNER")
    cases: list[tuple[str, dict[str, Any]]] = [
        (START_RUN, {"id": their_assignment}),
        (SET_ITEM, {"run": their_run, "item": "c1", "input": {"done": True}}),
        (SUBMIT, {"id": their_run}),
        (REOPEN, {"id": their_run}),
        (COMMENT, {"run": their_run, "body": "hi"}),
        (READ, {"id": their_run}),
        (NODE, {"id": their_run}),
    ]
    missing_run = to_global_id("Run", workspace.local_org, "does-not-exist")
    for query, variables in cases:
        theirs = await owner.execute(query, variables)
        assert theirs["errors"][0]["extensions"]["code"] == "NOT_FOUND", variables
        if "run" in variables or query in (SUBMIT, REOPEN, READ, NODE):
            swapped = {k: missing_run if v == their_run else v for k, v in variables.items()}
            absent = await owner.execute(query, swapped)
            assert absent["errors"][0]["message"] == theirs["errors"][0]["message"]
    # An item ID that the run's checklist does not have is NOT_FOUND as well.
    run_id = (await workspace.start((await workspace.assign())["id"]))["id"]
    comment = {"run": run_id, "body": "hi", "item": "nope"}
    assert await owner.error_code(COMMENT, comment) == "NOT_FOUND"

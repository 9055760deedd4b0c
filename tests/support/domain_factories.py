"""Plain factory functions for assignments and runs, built through the public API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from graphql_api.assignments import service as assignments
from graphql_api.assignments import transitions
from graphql_api.common.ids import from_global_id
from graphql_api.common.time import iso, now_iso
from graphql_api.context import Resources
from graphql_api.runs import service as runs
from graphql_api.store import keys
from graphql_api.store.client import Store
from graphql_api.store.codec import Item, serialize
from tests.support.factories import OrgFixture, add_member, create_org
from tests.support.graphql import GraphQLClient
from tests.support.isolated import IsolatedApp, isolated_app
from tests.support.serial_moto import SerialMotoServer

# Every kind once, with bounds; c2 and p1 are optional.
ITEMS: list[dict[str, Any]] = [
    {"itemId": "c1", "title": "Check the door", "kind": "CHECK"},
    {"itemId": "t1", "title": "Write the code", "kind": "TEXT", "maxLength": 10},
    {"itemId": "n1", "title": "Read the gauge", "kind": "NUMBER", "min": 0, "max": 10},
    {"itemId": "p1", "title": "Photo", "kind": "PHOTO", "required": False, "maxFiles": 2},
    {"itemId": "c2", "title": "Optional check", "kind": "CHECK", "required": False},
]
REQUIRED = ["c1", "t1", "n1"]

CREATE_CHECKLIST = """
mutation($input: CreateChecklistInput!) { createChecklist(input: $input) { id version } }"""
PUBLISH = "mutation($id: ID!) { publishChecklist(id: $id) { id publishedVersion } }"
CREATE_TEAM = "mutation($input: CreateTeamInput!) { createTeam(input: $input) { id } }"
ADD_TEAM_MEMBER = """
mutation($input: AddTeamMemberInput!) { addTeamMember(input: $input) { userId } }"""

ASSIGNMENT_FIELDS = """
  id status priority dueAt notes version checklistVersion
  history { status by note }
  checklist { title version }
  assignees { userId name }
  team { id name }
  run { id status version }
"""
CREATE_ASSIGNMENT = f"""
mutation($input: CreateAssignmentInput!) {{
  createAssignment(input: $input) {{ {ASSIGNMENT_FIELDS} }}
}}"""
UPDATE_ASSIGNMENT = f"""
mutation($input: UpdateAssignmentInput!) {{
  updateAssignment(input: $input) {{ {ASSIGNMENT_FIELDS} }}
}}"""
CANCEL_ASSIGNMENT = f"""
mutation($id: ID!, $note: String, $v: Int) {{
  cancelAssignment(id: $id, note: $note, expectedVersion: $v) {{ {ASSIGNMENT_FIELDS} }}
}}"""
RUN_FIELDS = """
  id status version checklistVersion startedBy
  progress { done total requiredDone requiredTotal percent }
"""
START_RUN = f"mutation($id: ID!) {{ startRun(assignmentId: $id) {{ {RUN_FIELDS} }} }}"
SET_ITEM = f"""
mutation($run: ID!, $item: String!, $input: ItemStateInput!) {{
  setItemState(runId: $run, itemId: $item, input: $input) {{
    item {{ itemId done value version updatedBy }}
    run {{ {RUN_FIELDS} }}
  }}
}}"""
SUBMIT = f"mutation($id: ID!) {{ submitRun(runId: $id) {{ {RUN_FIELDS} submittedAt }} }}"
REOPEN = (
    f"mutation($id: ID!, $note: String) {{ reopenRun(runId: $id, note: $note) {{ {RUN_FIELDS} }} }}"
)
COMMENT = """
mutation($run: ID!, $body: String!, $item: String) {
  addComment(runId: $run, body: $body, itemId: $item) { id itemId body authorId mentions }
}"""


def due_in(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


@dataclass
class Workspace:
    """An org (a client per role) with a published checklist and a team.

    MEMBER is assigned directly in `assignment_for_member`; TEAMMATE (a MEMBER) is on the
    team; OUTSIDER (a MEMBER) is on neither.
    """

    org: OrgFixture
    checklist_id: str
    team_id: str

    @property
    def org_id(self) -> str:
        return self.org.id

    @property
    def local_org(self) -> str:
        return from_global_id(self.org.id).org_id

    def client(self, role: str) -> GraphQLClient:
        return self.org.clients[role]

    def member_id(self, role: str) -> str:
        return self.org.member_id(role)

    async def assign(self, **overrides: Any) -> dict[str, Any]:
        """An assignment to MEMBER and the team, due tomorrow (override any input field)."""
        data = {
            "checklistId": self.checklist_id,
            "assigneeIds": [self.member_id("MEMBER")],
            "teamId": self.team_id,
            "dueAt": due_in(24),
            **overrides,
        }
        result = await self.client("MANAGER").data(CREATE_ASSIGNMENT, {"input": data})
        assignment: dict[str, Any] = result["createAssignment"]
        return assignment

    async def start(self, assignment_id: str, role: str = "MANAGER") -> dict[str, Any]:
        result = await self.client(role).data(START_RUN, {"id": assignment_id})
        run: dict[str, Any] = result["startRun"]
        return run

    async def set_item(
        self, run_id: str, item_id: str, role: str = "MEMBER", **state: Any
    ) -> dict[str, Any]:
        result = await self.client(role).data(
            SET_ITEM, {"run": run_id, "item": item_id, "input": state}
        )
        payload: dict[str, Any] = result["setItemState"]
        return payload

    async def complete_required(self, run_id: str, role: str = "MEMBER") -> None:
        await self.set_item(run_id, "c1", role, done=True)
        await self.set_item(run_id, "t1", role, value="ok")
        await self.set_item(run_id, "n1", role, value=5)


async def create_checklist(
    client: GraphQLClient, org_id: str, items: list[dict[str, Any]] | None = None
) -> str:
    data = await client.data(
        CREATE_CHECKLIST,
        {"input": {"orgId": org_id, "title": "Daily inspection", "items": items or ITEMS}},
    )
    cid: str = data["createChecklist"]["id"]
    await client.data(PUBLISH, {"id": cid})
    return cid


async def create_team(client: GraphQLClient, org_id: str, members: list[str]) -> str:
    data = await client.data(CREATE_TEAM, {"input": {"orgId": org_id, "name": "Night shift"}})
    tid: str = data["createTeam"]["id"]
    for member_id in members:
        await client.data(ADD_TEAM_MEMBER, {"input": {"teamId": tid, "memberId": member_id}})
    return tid


async def create_workspace(client_for: Callable[..., GraphQLClient]) -> Workspace:
    """Members join concurrently: use it on serial_moto (see tests.support.serial_moto)."""
    org = await create_org(client_for, roles=[])
    owner = org.clients["OWNER"]
    roles = {r: r for r in ("ADMIN", "MANAGER", "MEMBER", "VIEWER")}
    roles.update(TEAMMATE="MEMBER", OUTSIDER="MEMBER")
    *members, checklist_id = await asyncio.gather(
        *(add_member(owner, client_for, org.id, role) for role in roles.values()),
        create_checklist(owner, org.id),
    )
    org.clients.update(zip(roles, members, strict=True))
    team_id = await create_team(owner, org.id, [org.member_id("TEAMMATE")])
    return Workspace(org, checklist_id, team_id)


async def batch_put(store: Store, items: list[Item]) -> None:
    """BatchWriteItem, 25 at a time (moto's TransactWriteItems copies the whole table, which
    makes bulk set-up through transactions slow)."""
    for start in range(0, len(items), 25):
        request = {
            store.table: [{"PutRequest": {"Item": serialize(i)}} for i in items[start : start + 25]]
        }
        while request:
            result = await store.dynamodb.batch_write_item(RequestItems=request)
            request = result.get("UnprocessedItems") or {}


async def seed_started_assignments(
    resources: Resources, ws: Workspace, count: int, actor_role: str = "MANAGER"
) -> None:
    """`count` assignments with a started run each, made by the services' own item builders
    and stored in bulk (the dashboard test needs many; the API path is covered elsewhere)."""
    org = ws.local_org
    checklist = from_global_id(ws.checklist_id).id
    team = from_global_id(ws.team_id).id
    members = [from_global_id(ws.member_id(r)).id for r in ("MEMBER", "TEAMMATE", "OUTSIDER")]
    actor = ws.client(actor_role).sub or ""
    snapshot = await resources.store.get(keys.checklist_version(org, checklist, 1))
    assert snapshot is not None
    items: list[Item] = []
    for i in range(count):
        at = now_iso()
        assignment = assignments.new_assignment(
            org, checklist, 1, members[: 1 + i % 3], team, iso_in(1 + i), "MEDIUM", None, actor, at
        )
        run, event = runs.new_run(assignment, snapshot, actor, at)
        items += [transitions.started(assignment, run["id"], actor, at), run, event]
        items += assignments.index_items(assignment)
    await batch_put(resources.store, items)


def iso_in(hours: float) -> str:
    return iso(datetime.now(UTC) + timedelta(hours=hours))


# fixtures (imported by the assignments and runs conftests) ------------------------------
@pytest.fixture(scope="package", name="isolated")
async def isolated_fixture(serial_moto: SerialMotoServer) -> AsyncIterator[IsolatedApp]:
    """The package's own app and table on serial_moto: its tests write a lot, and the
    concurrency tests need transactions that are atomic towards each other."""
    async with isolated_app(serial_moto) as app:
        yield app


@pytest.fixture(scope="package", name="http")
def http_fixture(isolated: IsolatedApp) -> httpx.AsyncClient:
    return isolated.http


@pytest.fixture(scope="package", name="resources")
def resources_fixture(isolated: IsolatedApp) -> Resources:
    return isolated.resources


@pytest.fixture(scope="module", name="workspace")
async def workspace_fixture(isolated: IsolatedApp) -> Workspace:
    """A workspace shared by the module's tests."""
    return await create_workspace(isolated.client_for)


@pytest.fixture(name="fresh")
async def fresh_fixture(isolated: IsolatedApp) -> Workspace:
    """A workspace of the test's own."""
    return await create_workspace(isolated.client_for)

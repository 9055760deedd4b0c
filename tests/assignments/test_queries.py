"""Assignment lists (filters, derived OVERDUE, pagination), `me`, node(id) and relations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.domain_factories import SUBMIT, Workspace, due_in

LIST = """
query($id: ID!, $status: AssignmentStatus, $assignee: ID, $team: ID, $from: DateTime,
      $to: DateTime, $first: Int, $after: String) {
  organization(id: $id) {
    assignments(status: $status, assigneeId: $assignee, teamId: $team, dueAfter: $from,
                dueBefore: $to, first: $first, after: $after) {
      nodes { id status }
      edges { cursor }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""
MINE = """
query($status: AssignmentStatus, $team: ID, $first: Int, $after: String) {
  me {
    assignments(status: $status, teamId: $team, first: $first, after: $after) {
      nodes { id status }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""
DETAIL = """
query($id: ID!) {
  node(id: $id) {
    id
    ... on Assignment {
      status priority notes checklistVersion version
      history { status by note }
      checklist { title version items { itemId kind required } }
      assignees { userId }
      team { id name }
      run { id status version progress { done total requiredDone requiredTotal percent }
            assignment { id } }
    }
  }
}"""
RUNS = """
query($id: ID!, $first: Int, $after: String) {
  organization(id: $id) {
    runs(first: $first, after: $after) {
      nodes { id status assignment { id } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""


@dataclass
class Dataset:
    """Six assignments of the module's workspace, named by what makes them distinct."""

    ws: Workspace
    ids: dict[str, str]
    runs: dict[str, str]

    def of(self, *names: str) -> list[str]:
        return [self.ids[n] for n in names]


@pytest.fixture(scope="module")
async def data(workspace: Workspace) -> Dataset:
    ws = workspace
    member, mate, outsider = (ws.member_id(r) for r in ("MEMBER", "TEAMMATE", "OUTSIDER"))
    specs: dict[str, dict[str, Any]] = {
        "overdue_started": {"assigneeIds": [member], "dueAt": due_in(-2)},
        "overdue": {"assigneeIds": [], "dueAt": due_in(-1)},
        "assigned": {"assigneeIds": [member], "dueAt": due_in(48)},
        "in_progress": {"assigneeIds": [mate], "teamId": None, "dueAt": due_in(72)},
        "cancelled": {"assigneeIds": [member], "teamId": None, "dueAt": due_in(96)},
        "completed": {"assigneeIds": [outsider], "teamId": None, "dueAt": due_in(120)},
    }
    ids = {name: (await ws.assign(**spec))["id"] for name, spec in specs.items()}
    runs = {
        name: (await ws.start(ids[name]))["id"]
        for name in ("overdue_started", "in_progress", "completed")
    }
    await ws.client("MANAGER").data(
        'mutation($id: ID!) { cancelAssignment(id: $id, note: "no longer needed") { id } }',
        {"id": ids["cancelled"]},
    )
    await ws.complete_required(runs["completed"], "OUTSIDER")
    await ws.client("OUTSIDER").data(SUBMIT, {"id": runs["completed"]})
    return Dataset(ws, ids, runs)


async def _list(data: Dataset, role: str = "VIEWER", **variables: Any) -> dict[str, Any]:
    result = await data.ws.client(role).data(LIST, {"id": data.ws.org_id, **variables})
    page: dict[str, Any] = result["organization"]["assignments"]
    return page


async def _ids(data: Dataset, **variables: Any) -> list[str]:
    return [n["id"] for n in (await _list(data, **variables))["nodes"]]


ORDER = ["overdue_started", "overdue", "assigned", "in_progress", "cancelled", "completed"]


async def test_org_list_is_by_due_time_with_derived_status(data: Dataset) -> None:
    page = await _list(data)
    assert [n["id"] for n in page["nodes"]] == data.of(*ORDER)
    assert [n["status"] for n in page["nodes"]] == [
        "OVERDUE",
        "OVERDUE",
        "ASSIGNED",
        "IN_PROGRESS",
        "CANCELLED",
        "COMPLETED",
    ]
    assert page["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("OVERDUE", ["overdue_started", "overdue"]),
        ("ASSIGNED", ["assigned"]),
        ("IN_PROGRESS", ["in_progress"]),
        ("CANCELLED", ["cancelled"]),
        ("COMPLETED", ["completed"]),
    ],
)
async def test_status_filter(data: Dataset, status: str, expected: list[str]) -> None:
    assert await _ids(data, status=status) == data.of(*expected)


async def test_assignee_team_and_due_filters(data: Dataset) -> None:
    ws = data.ws
    member = ws.member_id("MEMBER")
    assert await _ids(data, assignee=member) == data.of("overdue_started", "assigned", "cancelled")
    assert await _ids(data, assignee=member, status="OVERDUE") == data.of("overdue_started")
    assert await _ids(data, team=ws.team_id) == data.of("overdue_started", "overdue", "assigned")
    assert await _ids(data, team=ws.team_id, assignee=member, status="ASSIGNED") == data.of(
        "assigned"
    )
    window = {"from": due_in(0), "to": due_in(80)}
    assert await _ids(data, **window) == data.of("assigned", "in_progress")
    assert await _ids(data, to=due_in(0)) == data.of("overdue_started", "overdue")
    assert await _ids(data, assignee=ws.member_id("VIEWER")) == []


async def test_me_lists_direct_assignments_across_orgs(data: Dataset) -> None:
    ws = data.ws
    mine = await ws.client("MEMBER").data(MINE)
    assert [n["id"] for n in mine["me"]["assignments"]["nodes"]] == data.of(
        "overdue_started", "assigned", "cancelled"
    )
    assigned = await ws.client("MEMBER").data(MINE, {"status": "ASSIGNED"})
    assert [n["id"] for n in assigned["me"]["assignments"]["nodes"]] == data.of("assigned")
    by_team = await ws.client("MEMBER").data(MINE, {"team": ws.team_id})
    assert [n["id"] for n in by_team["me"]["assignments"]["nodes"]] == data.of(
        "overdue_started", "assigned"
    )
    # Team work is listed under the organization, not as the teammate's own.
    mate = await ws.client("TEAMMATE").data(MINE)
    assert [n["id"] for n in mate["me"]["assignments"]["nodes"]] == data.of("in_progress")


async def test_pages_walk_every_item_once(data: Dataset) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = await _list(data, first=2, after=after)
        seen += [n["id"] for n in page["nodes"]]
        assert len(page["nodes"]) <= 2
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == data.of(*ORDER)
    # A filtered list pages too (matches are sparse in the index).
    first = await _list(data, status="OVERDUE", first=1)
    assert first["pageInfo"]["hasNextPage"] is True
    rest = await _list(data, status="OVERDUE", first=1, after=first["pageInfo"]["endCursor"])
    assert [n["id"] for n in first["nodes"] + rest["nodes"]] == data.of(
        "overdue_started", "overdue"
    )


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_page_size_is_bounded(data: Dataset, first: int) -> None:
    code = await data.ws.client("VIEWER").error_code(LIST, {"id": data.ws.org_id, "first": first})
    assert code == "BAD_USER_INPUT"


async def test_cursor_is_bound_to_its_list(data: Dataset) -> None:
    page = await _list(data, first=1)
    cursor = page["pageInfo"]["endCursor"]
    assert len(await _ids(data, first=100, after=cursor)) == len(ORDER) - 1
    other_filter = {"id": data.ws.org_id, "status": "ASSIGNED", "after": cursor}
    assert await data.ws.client("VIEWER").error_code(LIST, other_filter) == "BAD_USER_INPUT"
    mine = await data.ws.client("MEMBER").error_code(MINE, {"after": cursor})
    assert mine == "BAD_USER_INPUT"


async def test_node_resolves_an_assignment_with_its_relations(data: Dataset) -> None:
    ws = data.ws
    result = await ws.client("VIEWER").data(DETAIL, {"id": data.ids["overdue_started"]})
    node = result["node"]
    assert node["id"] == data.ids["overdue_started"]
    assert node["status"] == "OVERDUE"
    assert node["priority"] == "MEDIUM"
    assert node["checklistVersion"] == 1
    assert node["checklist"]["title"] == "Daily inspection"
    assert [i["itemId"] for i in node["checklist"]["items"]] == ["c1", "t1", "n1", "p1", "c2"]
    assert node["assignees"] == [{"userId": ws.client("MEMBER").sub}]
    assert node["team"] == {"id": ws.team_id, "name": "Night shift"}
    assert [h["status"] for h in node["history"]] == ["ASSIGNED", "IN_PROGRESS"]
    run = node["run"]
    assert run["id"] == data.runs["overdue_started"]
    assert run["progress"] == {
        "done": 0,
        "total": 5,
        "requiredDone": 0,
        "requiredTotal": 3,
        "percent": 0.0,
    }
    assert run["assignment"]["id"] == node["id"]
    cancelled = await ws.client("VIEWER").data(DETAIL, {"id": data.ids["cancelled"]})
    assert cancelled["node"]["history"][-1] == {
        "status": "CANCELLED",
        "by": ws.client("MANAGER").sub,
        "note": "no longer needed",
    }
    assert cancelled["node"]["run"] is None


async def test_org_runs_newest_first(data: Dataset) -> None:
    ws = data.ws
    result = await ws.client("VIEWER").data(RUNS, {"id": ws.org_id, "first": 2})
    page = result["organization"]["runs"]
    assert [n["id"] for n in page["nodes"]] == [data.runs["completed"], data.runs["in_progress"]]
    assert page["nodes"][0]["status"] == "SUBMITTED"
    assert page["nodes"][0]["assignment"]["id"] == data.ids["completed"]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await ws.client("VIEWER").data(
        RUNS, {"id": ws.org_id, "after": page["pageInfo"]["endCursor"]}
    )
    assert [n["id"] for n in rest["organization"]["runs"]["nodes"]] == [
        data.runs["overdue_started"]
    ]

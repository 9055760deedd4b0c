"""Checklist queries: organization.checklists paging, checklist(id), node(id), snapshots."""

from __future__ import annotations

import pytest

from tests.checklists.helpers import (
    CHECKLIST,
    NODE,
    ORG_CHECKLISTS,
    create_checklist,
    published_checklist,
)
from tests.support.factories import create_org
from tests.support.graphql import all_pages

SNAPSHOTS = """
query($id: ID!, $first: Int, $after: String) {
  checklist(id: $id) {
    snapshots(first: $first, after: $after) {
      nodes { version }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""


async def test_organization_checklists_page_through_everything(client_for):
    org = await create_org(client_for, roles=["VIEWER"])
    owner = org.clients["OWNER"]
    made = {(await create_checklist(owner, org.id, f"C{i}", items=[]))["id"] for i in range(5)}
    viewer = org.clients["VIEWER"]
    path = ["organization", "checklists"]
    seen, calls = await all_pages(viewer, ORG_CHECKLISTS, {"id": org.id}, path, 2)
    assert {c["id"] for c in seen} == made
    assert (len(seen), calls) == (5, 3)
    seen, calls = await all_pages(viewer, ORG_CHECKLISTS, {"id": org.id}, path, 5)
    assert (len(seen), calls) == (5, 1)


async def test_snapshots_page_newest_first(client_for):
    org = await create_org(client_for, roles=[])
    owner = org.clients["OWNER"]
    checklist = await published_checklist(owner, org.id)
    version = checklist["version"]
    for title in ("second", "third"):
        data = await owner.data(
            "mutation($i: UpdateChecklistInput!) { updateChecklist(input: $i) { version } }",
            {"i": {"id": checklist["id"], "expectedVersion": version, "title": title}},
        )
        version = data["updateChecklist"]["version"]
    seen, calls = await all_pages(
        owner, SNAPSHOTS, {"id": checklist["id"]}, ["checklist", "snapshots"], 2
    )
    assert [s["version"] for s in seen] == [3, 2, 1]
    assert calls == 2


@pytest.mark.parametrize("first", [0, -5, 101])
async def test_page_size_bounds(client_for, first):
    org = await create_org(client_for, roles=[])
    owner = org.clients["OWNER"]
    checklist = await create_checklist(owner, org.id)
    code = await owner.error_code(ORG_CHECKLISTS, {"id": org.id, "first": first})
    assert code == "BAD_USER_INPUT"
    code = await owner.error_code(SNAPSHOTS, {"id": checklist["id"], "first": first})
    assert code == "BAD_USER_INPUT"


async def test_checklist_and_node_resolve(client_for):
    org = await create_org(client_for, roles=["VIEWER"])
    owner = org.clients["OWNER"]
    draft = await create_checklist(owner, org.id, "Draft one")
    viewer = org.clients["VIEWER"]
    data = await viewer.data(NODE, {"id": draft["id"]})
    assert data["node"] == {"id": draft["id"], "title": "Draft one", "status": "DRAFT"}
    data = await viewer.data(CHECKLIST, {"id": draft["id"]})
    checklist = data["checklist"]
    assert checklist["items"] == draft["items"]
    # A draft has no published version yet.
    assert checklist["snapshot"] is None
    assert checklist["snapshots"]["nodes"] == []


async def test_a_cursor_only_works_on_its_own_list(client_for):
    org = await create_org(client_for, roles=[])
    owner = org.clients["OWNER"]
    for i in range(2):
        await create_checklist(owner, org.id, f"C{i}", items=[])
    page = await owner.data(ORG_CHECKLISTS, {"id": org.id, "first": 1})
    cursor = page["organization"]["checklists"]["pageInfo"]["endCursor"]
    other = await create_org(client_for, roles=[])
    code = await other.clients["OWNER"].error_code(
        ORG_CHECKLISTS, {"id": other.id, "after": cursor}
    )
    assert code == "BAD_USER_INPUT"

"""Checklist mutations: lifecycle, versions, optimistic concurrency, plan limit, audit."""

from __future__ import annotations

import pytest

from graphql_api.auth.principal import Principal
from graphql_api.checklists import service
from graphql_api.context import Context
from graphql_api.errors import AppError, ErrorCode
from tests.checklists.helpers import (
    ARCHIVE,
    CHECKLIST,
    CREATE,
    ITEMS,
    ORG_CHECKLISTS,
    PUBLISH,
    UPDATE,
    create_checklist,
    published_checklist,
)
from tests.support.factories import create_org
from tests.teams.helpers import audit_of, local_id


async def test_create_makes_a_draft_and_assigns_missing_item_ids(client_for):
    org = await create_org(client_for, roles=["MANAGER"])
    manager = org.clients["MANAGER"]
    created = await create_checklist(manager, org.id)
    assert (created["status"], created["version"], created["publishedVersion"]) == (
        "DRAFT",
        1,
        None,
    )
    assert created["createdBy"] == manager.sub
    items = created["items"]
    assert [i["title"] for i in items] == [i["title"] for i in ITEMS]
    assert [items[0]["itemId"], items[2]["itemId"], items[3]["itemId"]] == [
        "door",
        "notes",
        "photo",
    ]
    assert items[1]["itemId"] and items[1]["itemId"] not in {"door", "notes", "photo"}
    assert items[1] == {
        "itemId": items[1]["itemId"],
        "title": "Temperature",
        "description": None,
        "required": False,
        "kind": "NUMBER",
        "min": -20,
        "max": 8.5,
        "maxLength": None,
        "maxFiles": None,
    }
    assert (items[2]["maxLength"], items[3]["maxFiles"], items[0]["required"]) == (500, 3, True)
    usage = await manager.data(ORG_CHECKLISTS, {"id": org.id})
    assert usage["organization"]["usage"]["checklists"] == 1


async def test_update_with_the_expected_version(client_for):
    org = await create_org(client_for, roles=[])
    owner = org.clients["OWNER"]
    created = await create_checklist(owner, org.id)
    data = await owner.data(
        UPDATE,
        {
            "input": {
                "id": created["id"],
                "expectedVersion": 1,
                "title": "Cold room (daily)",
                "description": "Every morning",
                "items": [{"itemId": "door", "title": "Door shut", "kind": "CHECK"}],
            }
        },
    )
    updated = data["updateChecklist"]
    assert (updated["version"], updated["status"], updated["publishedVersion"]) == (
        2,
        "DRAFT",
        None,
    )
    assert (updated["title"], updated["description"]) == ("Cold room (daily)", "Every morning")
    assert [(i["itemId"], i["title"]) for i in updated["items"]] == [("door", "Door shut")]
    # An empty description clears it.
    data = await owner.data(
        UPDATE, {"input": {"id": created["id"], "expectedVersion": 2, "description": ""}}
    )
    assert (data["updateChecklist"]["description"], data["updateChecklist"]["version"]) == (None, 3)


async def test_stale_update_is_conflict_with_the_current_version(client_for):
    org = await create_org(client_for, roles=[])
    owner = org.clients["OWNER"]
    created = await create_checklist(owner, org.id)
    await owner.data(UPDATE, {"input": {"id": created["id"], "expectedVersion": 1, "title": "A"}})
    body = await owner.execute(
        UPDATE, {"input": {"id": created["id"], "expectedVersion": 1, "title": "B"}}
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["extensions"]["currentVersion"] == 2
    check = await owner.data(CHECKLIST, {"id": created["id"]})
    assert check["checklist"]["title"] == "A"


async def test_editing_a_published_checklist_publishes_the_next_version(client_for):
    org = await create_org(client_for, roles=["VIEWER"])
    owner = org.clients["OWNER"]
    created = await create_checklist(owner, org.id, "V1 title")
    published = (await owner.data(PUBLISH, {"id": created["id"], "v": 1}))["publishChecklist"]
    assert (published["status"], published["publishedVersion"], published["version"]) == (
        "PUBLISHED",
        1,
        2,
    )
    data = await owner.data(
        UPDATE,
        {
            "input": {
                "id": created["id"],
                "expectedVersion": 2,
                "title": "V2 title",
                "items": [{"itemId": "only", "title": "Only step", "kind": "CHECK"}],
            }
        },
    )
    edited = data["updateChecklist"]
    assert (edited["status"], edited["publishedVersion"], edited["version"]) == (
        "PUBLISHED",
        2,
        3,
    )
    viewer = org.clients["VIEWER"]
    v1 = (await viewer.data(CHECKLIST, {"id": created["id"], "v": 1}))["checklist"]
    assert v1["snapshot"]["version"] == 1
    assert v1["snapshot"]["title"] == "V1 title"
    assert [i["itemId"] for i in v1["snapshot"]["items"]] == [i["itemId"] for i in created["items"]]
    assert v1["snapshot"]["checklistId"] == created["id"]
    latest = (await viewer.data(CHECKLIST, {"id": created["id"]}))["checklist"]
    assert latest["snapshot"]["version"] == 2
    assert latest["snapshot"]["items"] == [{"itemId": "only", "title": "Only step"}]
    assert latest["snapshots"]["nodes"] == [
        {"version": 2, "title": "V2 title"},
        {"version": 1, "title": "V1 title"},
    ]
    missing = (await viewer.data(CHECKLIST, {"id": created["id"], "v": 7}))["checklist"]
    assert missing["snapshot"] is None


async def test_publish_and_archive_rules(client_for):
    org = await create_org(client_for, roles=[])
    owner = org.clients["OWNER"]
    empty = await create_checklist(owner, org.id, items=[])
    assert await owner.error_code(PUBLISH, {"id": empty["id"]}) == "BAD_USER_INPUT"

    created = await create_checklist(owner, org.id)
    body = await owner.execute(PUBLISH, {"id": created["id"], "v": 5})
    assert body["errors"][0]["extensions"] == {"code": "CONFLICT", "currentVersion": 1}
    first = (await owner.data(PUBLISH, {"id": created["id"]}))["publishChecklist"]
    again = (await owner.data(PUBLISH, {"id": created["id"]}))["publishChecklist"]
    assert again == first  # publishing a published checklist changes nothing
    code = await owner.error_code(
        UPDATE, {"input": {"id": created["id"], "expectedVersion": 2, "items": []}}
    )
    assert code == "BAD_USER_INPUT"

    archived = (await owner.data(ARCHIVE, {"id": created["id"]}))["archiveChecklist"]
    assert (archived["status"], archived["version"], archived["publishedVersion"]) == (
        "ARCHIVED",
        3,
        1,
    )
    assert (await owner.data(ARCHIVE, {"id": created["id"]}))["archiveChecklist"] == archived
    assert await owner.error_code(PUBLISH, {"id": created["id"]}) == "BAD_USER_INPUT"
    code = await owner.error_code(
        UPDATE, {"input": {"id": created["id"], "expectedVersion": 3, "title": "x"}}
    )
    assert code == "BAD_USER_INPUT"
    # A draft can be archived too; archived checklists stop counting against the plan.
    await owner.data(ARCHIVE, {"id": empty["id"]})
    usage = await owner.data(ORG_CHECKLISTS, {"id": org.id})
    assert usage["organization"]["usage"]["checklists"] == 0


async def test_checklist_limit_of_the_free_plan(client_for):
    org = await create_org(client_for, roles=[], plan=None)
    owner = org.clients["OWNER"]
    made = [await create_checklist(owner, org.id, f"C{i}", items=[]) for i in range(10)]
    body = await owner.execute(
        CREATE, {"input": {"orgId": org.id, "title": "One too many", "items": []}}
    )
    assert body["errors"][0]["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": 10}
    data = await owner.data(ORG_CHECKLISTS, {"id": org.id, "first": 100})
    assert data["organization"]["usage"]["checklists"] == 10
    assert len(data["organization"]["checklists"]["nodes"]) == 10
    await owner.data(ARCHIVE, {"id": made[0]["id"]})
    await create_checklist(owner, org.id, "Fits again", items=[])
    data = await owner.data(ORG_CHECKLISTS, {"id": org.id})
    assert data["organization"]["usage"]["checklists"] == 10


async def test_every_checklist_mutation_is_audited(client_for):
    org = await create_org(client_for, roles=["ADMIN"])
    owner = org.clients["OWNER"]
    created = await create_checklist(owner, org.id)
    await owner.data(UPDATE, {"input": {"id": created["id"], "expectedVersion": 1, "title": "T"}})
    await owner.data(PUBLISH, {"id": created["id"]})
    await owner.data(UPDATE, {"input": {"id": created["id"], "expectedVersion": 3, "title": "U"}})
    await owner.data(ARCHIVE, {"id": created["id"]})
    entries = await audit_of(org.clients["ADMIN"], org.id, local_id(created["id"]))
    assert sorted(e["action"] for e in entries) == sorted(
        [
            "checklist.created",
            "checklist.updated",
            "checklist.published",
            "checklist.updated",
            "checklist.archived",
        ]
    )
    assert {(e["entityType"], e["entityId"], e["actorId"]) for e in entries} == {
        ("Checklist", local_id(created["id"]), owner.sub)
    }
    published_edit = [e for e in entries if e["details"].get("publishedVersion") == 2]
    assert [e["action"] for e in published_edit] == ["checklist.updated"]


async def test_get_published_contract_for_runs(client_for, resources):
    org = await create_org(client_for, roles=[])
    owner = org.clients["OWNER"]
    org_local = local_id(org.id)
    draft = await create_checklist(owner, org.id)
    published = await published_checklist(owner, org.id)
    await owner.data(
        UPDATE, {"input": {"id": published["id"], "expectedVersion": 2, "title": "Second"}}
    )
    cid = local_id(published["id"])

    def ctx() -> Context:
        return Context(resources=resources, principal=Principal(id=str(owner.sub)))

    latest = await service.get_published(ctx(), org_local, cid)
    assert (latest["entity"], latest["version"], latest["title"]) == (
        "ChecklistVersion",
        2,
        "Second",
    )
    assert latest["checklistId"] == cid
    assert [i["id"] for i in latest["items"]] == [i["itemId"] for i in published["items"]]
    first = await service.get_published(ctx(), org_local, cid, 1)
    assert (first["version"], first["title"]) == (1, "Cold room")
    for args, code in [
        ((org_local, local_id(draft["id"])), ErrorCode.BAD_USER_INPUT),
        ((org_local, cid, 3), ErrorCode.NOT_FOUND),
        ((org_local, "missing"), ErrorCode.NOT_FOUND),
        (("another-org", cid), ErrorCode.NOT_FOUND),
    ]:
        with pytest.raises(AppError) as caught:
            await service.get_published(ctx(), *args)
        assert caught.value.code is code, args
    await owner.data(ARCHIVE, {"id": published["id"]})
    with pytest.raises(AppError) as caught:
        await service.get_published(ctx(), org_local, cid)
    assert caught.value.code is ErrorCode.BAD_USER_INPUT
    assert (await service.get_published(ctx(), org_local, cid, 2))["title"] == "Second"

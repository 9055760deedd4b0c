"""Who may do what with checklists: one role x operation table; other tenants are NOT_FOUND."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from graphql_api.common.ids import from_global_id, to_global_id
from tests.checklists.helpers import (
    ARCHIVE,
    CHECKLIST,
    CREATE,
    NODE,
    PUBLISH,
    UPDATE,
    create_checklist,
)
from tests.support.factories import ROLES, OrgFixture, create_org
from tests.support.graphql import GraphQLClient

OK, NO = "ok", "FORBIDDEN"
MATRIX: dict[str, list[str]] = {
    #            OWNER ADMIN MANAGER MEMBER VIEWER
    "read": [OK, OK, OK, OK, OK],
    "create": [OK, OK, OK, NO, NO],
    "update": [OK, OK, OK, NO, NO],
    "publish": [OK, OK, OK, NO, NO],
    "archive": [OK, OK, OK, NO, NO],
}


@pytest.fixture(scope="module")
async def orgs(http: httpx.AsyncClient) -> AsyncIterator[tuple[OrgFixture, OrgFixture]]:
    def client_for(sub: str | None, email: str | None = None) -> GraphQLClient:
        return GraphQLClient(http, sub, email)

    yield await create_org(client_for), await create_org(client_for, roles=[])


async def _attempt(client: GraphQLClient, org: OrgFixture, op: str, checklist: str) -> str:
    if op == "read":
        body = await client.execute(CHECKLIST, {"id": checklist})
    elif op == "create":
        body = await client.execute(CREATE, {"input": {"orgId": org.id, "title": "N"}})
    elif op == "update":
        body = await client.execute(
            UPDATE, {"input": {"id": checklist, "expectedVersion": 1, "title": "Edited"}}
        )
    elif op == "publish":
        body = await client.execute(PUBLISH, {"id": checklist})
    else:
        body = await client.execute(ARCHIVE, {"id": checklist})
    if body.get("errors"):
        return str(body["errors"][0]["extensions"]["code"])
    assert body["data"], body
    return OK


@pytest.mark.parametrize("op", list(MATRIX))
async def test_role_operation_matrix(orgs: tuple[OrgFixture, OrgFixture], op: str) -> None:
    org = orgs[0]
    owner = org.clients["OWNER"]
    shared = (await create_checklist(owner, org.id))["id"]
    got = {}
    for role, expected in zip(ROLES, MATRIX[op], strict=True):
        # A cell that changes the checklist gets its own, so every cell starts at version 1.
        changes = expected == OK and op not in ("read", "create")
        target = (await create_checklist(owner, org.id))["id"] if changes else shared
        got[role] = await _attempt(org.clients[role], org, op, target)
    assert got == dict(zip(ROLES, MATRIX[op], strict=True))


async def test_other_tenants_ids_are_not_found_in_every_argument(
    orgs: tuple[OrgFixture, OrgFixture],
) -> None:
    mine, other = orgs
    owner = mine.clients["OWNER"]
    theirs = (await create_checklist(other.clients["OWNER"], other.id))["id"]
    calls = [
        (CREATE, {"input": {"orgId": other.id, "title": "x"}}),
        (UPDATE, {"input": {"id": theirs, "expectedVersion": 1, "title": "x"}}),
        (PUBLISH, {"id": theirs}),
        (ARCHIVE, {"id": theirs}),
        (CHECKLIST, {"id": theirs}),
        (NODE, {"id": theirs}),
    ]
    for query, variables in calls:
        assert await owner.error_code(query, variables) == "NOT_FOUND", (query, variables)
    missing = to_global_id("Checklist", from_global_id(mine.id).org_id, "nope")
    other_body = await owner.execute(CHECKLIST, {"id": theirs})
    absent = await owner.execute(CHECKLIST, {"id": missing})
    assert other_body["errors"][0]["message"] == absent["errors"][0]["message"]
    assert absent["errors"][0]["message"] == "Checklist not found"
    # An ID of another type is NOT_FOUND too, and nothing of theirs changed.
    assert await owner.error_code(PUBLISH, {"id": mine.id}) == "NOT_FOUND"
    data = await other.clients["OWNER"].data(CHECKLIST, {"id": theirs})
    assert (data["checklist"]["status"], data["checklist"]["version"]) == ("DRAFT", 1)


async def test_anonymous_callers_are_unauthenticated(
    client_for, orgs: tuple[OrgFixture, OrgFixture]
) -> None:
    org = orgs[0]
    anonymous = client_for(None)
    assert (
        await anonymous.error_code(CREATE, {"input": {"orgId": org.id, "title": "x"}})
        == "UNAUTHENTICATED"
    )

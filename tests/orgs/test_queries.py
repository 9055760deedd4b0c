"""Organization queries: me, members, field-level email, audit log, cursors, tenant isolation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from graphql_api.common.ids import from_global_id, to_global_id
from graphql_api.context import Resources
from tests.support.calls import counting_calls
from tests.support.factories import ROLES, OrgFixture, create_org, uid
from tests.support.fast_moto import FastMotoServer, fast_moto_fixture  # noqa: F401
from tests.support.graphql import GraphQLClient
from tests.support.isolated import IsolatedApp, isolated_app

ClientFor = Callable[..., GraphQLClient]

MEMBERS = """query($id: ID!, $first: Int, $after: String) {
  organization(id: $id) {
    members(first: $first, after: $after) {
      edges { cursor node { id userId role email } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""
INVITATIONS = """query($id: ID!, $first: Int, $after: String) {
  organization(id: $id) {
    invitations(first: $first, after: $after) { pageInfo { endCursor } nodes { id } }
  }
}"""
AUDIT = """query($id: ID!, $first: Int, $after: String, $since: DateTime, $until: DateTime,
             $actorId: String, $entityId: String) {
  organization(id: $id) {
    auditLog(first: $first, after: $after, since: $since, until: $until, actorId: $actorId,
             entityId: $entityId) {
      nodes { id action actorId entityId at }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""
NODE = "query($id: ID!) { node(id: $id) { id __typename } }"
ORG = "query($id: ID!) { organization(id: $id) { id name } }"


@pytest.fixture(scope="module")
async def isolated(fast_moto: FastMotoServer) -> AsyncIterator[IsolatedApp]:
    async with isolated_app(fast_moto) as app:
        yield app


@pytest.fixture(scope="module")
def http(isolated: IsolatedApp) -> httpx.AsyncClient:
    return isolated.http


@pytest.fixture(scope="module")
def resources(isolated: IsolatedApp) -> Resources:
    return isolated.resources


@pytest.fixture(scope="module")
async def org(isolated: IsolatedApp) -> OrgFixture:
    return await create_org(isolated.client_for)


@pytest.fixture(scope="module")
async def other(isolated: IsolatedApp) -> OrgFixture:
    """Another tenant, with an invitation and audit entries of its own."""
    other = await create_org(isolated.client_for, roles=["ADMIN"])
    await other.clients["OWNER"].data(
        """mutation($input: InviteMemberInput!) { inviteMember(input: $input) { token } }""",
        {"input": {"orgId": other.id, "email": "pending@example.test", "role": "MEMBER"}},
    )
    return other


async def members_page(
    client: GraphQLClient, org_id: str, first: int | None = None, after: str | None = None
) -> dict[str, Any]:
    data = await client.data(MEMBERS, {"id": org_id, "first": first, "after": after})
    page: dict[str, Any] = data["organization"]["members"]
    return page


async def failure(client: GraphQLClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = await client.execute(query, variables)
    assert body.get("errors"), body
    first: dict[str, Any] = body["errors"][0]
    return first


# me ------------------------------------------------------------------------------------------
async def test_me_lists_memberships_with_roles(org: OrgFixture, other: OrgFixture) -> None:
    data = await org.clients["MANAGER"].data(
        "{ me { userId email memberships { role organization { id slug viewerRole } } } }"
    )
    me = data["me"]
    assert me["userId"] == org.clients["MANAGER"].sub
    assert me["memberships"] == [
        {
            "role": "MANAGER",
            "organization": {"id": org.id, "slug": org.slug, "viewerRole": "MANAGER"},
        }
    ]


async def test_me_for_a_new_user_has_no_memberships(client_for: ClientFor) -> None:
    sub = uid("newcomer")
    data = await client_for(sub).data("{ me { userId email memberships { role } } }")
    assert data["me"] == {"userId": sub, "email": f"{sub}@example.test", "memberships": []}


# members -------------------------------------------------------------------------------------
async def test_members_are_paginated_in_user_id_order(org: OrgFixture) -> None:
    owner = org.clients["OWNER"]
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = await members_page(owner, org.id, first=2, after=after)
        pages += 1
        seen += [e["node"]["userId"] for e in page["edges"]]
        assert page["pageInfo"]["endCursor"] == (
            page["edges"][-1]["cursor"] if page["edges"] else None
        )
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == sorted(c.sub or "" for c in org.clients.values())
    whole = await members_page(owner, org.id)
    assert [e["node"]["userId"] for e in whole["edges"]] == seen
    assert whole["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_page_size_is_bounded(org: OrgFixture, first: int) -> None:
    error = await failure(org.clients["OWNER"], MEMBERS, {"id": org.id, "first": first})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_members_query_is_not_n_plus_one(org: OrgFixture, resources: Resources) -> None:
    query = """query($id: ID!) { organization(id: $id) {
      members { nodes { userId email role } } } }"""
    with counting_calls(resources.store) as calls:
        await org.clients["VIEWER"].data(query, {"id": org.id})
    print(f"organization.members with 5 members: {dict(calls)}")
    assert sum(calls.values()) <= 4
    assert calls["Query"] == 1


@pytest.mark.parametrize("viewer", ROLES)
async def test_member_email_is_visible_to_admins_and_self(org: OrgFixture, viewer: str) -> None:
    client = org.clients[viewer]
    body = await client.execute(MEMBERS, {"id": org.id})
    assert "errors" not in body
    for edge in body["data"]["organization"]["members"]["edges"]:
        node = edge["node"]
        mine = node["userId"] == client.sub
        if viewer in ("OWNER", "ADMIN") or mine:
            assert node["email"] == f"{node['userId']}@example.test"
        else:
            assert node["email"] is None


async def test_invitations_are_admin_only(org: OrgFixture) -> None:
    for role in ROLES:
        body = await org.clients[role].execute(INVITATIONS, {"id": org.id})
        if role in ("OWNER", "ADMIN"):
            assert "errors" not in body
        else:
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# audit log -----------------------------------------------------------------------------------
async def audit(client: GraphQLClient, org_id: str, **filters: Any) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    after = None
    while True:
        variables = {"id": org_id, "first": 3, "after": after, **filters}
        data = await client.data(AUDIT, variables)
        log = data["organization"]["auditLog"]
        entries += log["nodes"]
        if not log["pageInfo"]["hasNextPage"]:
            return entries
        after = log["pageInfo"]["endCursor"]


async def test_audit_log_is_admin_only(org: OrgFixture) -> None:
    for role in ROLES:
        body = await org.clients[role].execute(AUDIT, {"id": org.id})
        if role in ("OWNER", "ADMIN"):
            assert body["data"]["organization"]["auditLog"]["nodes"]
        else:
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            assert body["data"] is None


async def test_audit_log_pages_newest_first(org: OrgFixture) -> None:
    entries = await audit(org.clients["ADMIN"], org.id)
    # created, plan set, then 4 x (invitation.created + invitation.accepted)
    assert len(entries) == 10
    assert entries[-1]["action"] == "organization.created"
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)
    assert len({e["id"] for e in entries}) == 10


async def test_audit_log_filters(org: OrgFixture) -> None:
    admin = org.clients["ADMIN"]
    entries = await audit(admin, org.id)
    owner_sub = org.clients["OWNER"].sub
    by_owner = await audit(admin, org.id, actorId=owner_sub)
    assert by_owner == [e for e in entries if e["actorId"] == owner_sub]
    assert 0 < len(by_owner) < len(entries)

    viewer_sub = org.clients["VIEWER"].sub
    about_viewer = await audit(admin, org.id, entityId=viewer_sub)
    assert [e["action"] for e in about_viewer] == ["invitation.accepted"]
    both = await audit(admin, org.id, entityId=viewer_sub, actorId=viewer_sub)
    assert both == about_viewer
    assert await audit(admin, org.id, entityId=viewer_sub, actorId=owner_sub) == []

    oldest_first = list(reversed(entries))
    since, until = oldest_first[2]["at"], oldest_first[6]["at"]
    window = await audit(admin, org.id, since=since, until=until)
    assert window == [e for e in entries if since <= e["at"] <= until]
    assert len(window) >= 5
    assert await audit(admin, org.id, since=since) == [e for e in entries if e["at"] >= since]
    assert await audit(admin, org.id, until=until) == [e for e in entries if e["at"] <= until]
    by_owner_window = await audit(admin, org.id, since=since, actorId=owner_sub)
    assert by_owner_window == [e for e in by_owner if e["at"] >= since]


async def test_cursors_are_bound_to_their_org_and_list(org: OrgFixture, other: OrgFixture) -> None:
    owner = org.clients["OWNER"]
    cursor = (await members_page(owner, org.id, first=1))["pageInfo"]["endCursor"]
    foreign_owner = other.clients["OWNER"]
    # Another org's list, with the other org's own owner: the cursor is refused.
    error = await failure(foreign_owner, MEMBERS, {"id": other.id, "first": 1, "after": cursor})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    # Another list of the same org.
    error = await failure(owner, INVITATIONS, {"id": org.id, "after": cursor})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    audit_cursor = (await owner.data(AUDIT, {"id": org.id, "first": 1}))["organization"][
        "auditLog"
    ]["pageInfo"]["endCursor"]
    error = await failure(owner, MEMBERS, {"id": org.id, "after": audit_cursor})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    # The same list with other filters.
    variables = {"id": org.id, "after": audit_cursor, "actorId": owner.sub}
    error = await failure(owner, AUDIT, variables)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    # And it still works where it belongs.
    page = await members_page(owner, org.id, first=1, after=cursor)
    assert page["edges"]


# tenant isolation ----------------------------------------------------------------------------
def fake(type_name: str, org_id: str) -> str:
    return to_global_id(type_name, org_id, "0000000000000000")


async def test_another_tenant_looks_exactly_like_nothing(
    org: OrgFixture, other: OrgFixture
) -> None:
    me = org.clients["OWNER"]
    mine = from_global_id(org.id).org_id
    theirs = from_global_id(other.id).org_id
    invitation = (await other.clients["OWNER"].data(INVITATIONS, {"id": other.id}))["organization"][
        "invitations"
    ]["nodes"][0]["id"]
    cases = [
        # (operation, variables with another tenant's ID, same with an ID that never existed)
        (ORG, {"id": other.id}, {"id": fake("Organization", uid("none"))}),
        (NODE, {"id": other.id}, {"id": fake("Organization", uid("none"))}),
        (NODE, {"id": other.member_id("ADMIN")}, {"id": fake("Member", mine)}),
        (NODE, {"id": invitation}, {"id": fake("Invitation", mine)}),
        (MEMBERS, {"id": other.id}, {"id": fake("Organization", uid("none"))}),
        (AUDIT, {"id": other.id}, {"id": fake("Organization", uid("none"))}),
        (
            "mutation($id: ID!) { updateMemberRole(memberId: $id, role: VIEWER) { id } }",
            {"id": other.member_id("ADMIN")},
            {"id": fake("Member", mine)},
        ),
        (
            "mutation($id: ID!) { removeMember(memberId: $id) { id } }",
            {"id": other.member_id("ADMIN")},
            {"id": fake("Member", mine)},
        ),
        (
            "mutation($id: ID!) { revokeInvitation(id: $id) { id } }",
            {"id": invitation},
            {"id": fake("Invitation", mine)},
        ),
        (
            """mutation($id: ID!) { inviteMember(input: {orgId: $id, email: "x@example.test",
               role: VIEWER}) { token } }""",
            {"id": other.id},
            {"id": fake("Organization", uid("none"))},
        ),
        (
            'mutation($id: ID!) { updateOrganization(input: {id: $id, name: "x"}) { id } }',
            {"id": other.id},
            {"id": fake("Organization", uid("none"))},
        ),
    ]
    for query, foreign, missing in cases:
        foreign_error = await failure(me, query, foreign)
        missing_error = await failure(me, query, missing)
        assert foreign_error["extensions"] == {"code": "NOT_FOUND"}, query
        assert foreign_error["message"] == missing_error["message"], query
        assert foreign_error["extensions"] == missing_error["extensions"], query
    print(f"tenant isolation: {len(cases)} operations compared")
    # Nothing of the other tenant changed.
    state = await other.clients["OWNER"].data(MEMBERS, {"id": other.id})
    roles = [e["node"]["role"] for e in state["organization"]["members"]["edges"]]
    assert sorted(roles) == ["ADMIN", "OWNER"]
    assert theirs != mine


async def test_entity_filter_cannot_reach_another_tenant(
    org: OrgFixture, other: OrgFixture
) -> None:
    other_admin = other.clients["ADMIN"].sub
    assert await audit(org.clients["OWNER"], org.id, entityId=other_admin) == []
    assert await audit(org.clients["OWNER"], org.id, actorId=other.clients["OWNER"].sub) == []


async def test_malformed_ids_are_not_found(org: OrgFixture) -> None:
    me = org.clients["OWNER"]
    for bad in ["", "%%%", "bm90LWEtZ2lk", to_global_id("Nope", "", "x")]:
        error = await failure(me, NODE, {"id": bad})
        assert error["extensions"]["code"] == "NOT_FOUND", bad
    error = await failure(me, ORG, {"id": org.member_id("VIEWER")})
    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_only_your_own_user_node(org: OrgFixture) -> None:
    me, other = org.clients["MEMBER"], org.clients["VIEWER"]
    assert me.sub and other.sub
    mine = await me.data(NODE, {"id": to_global_id("User", "", me.sub)})
    assert mine["node"]["__typename"] == "User"
    theirs = await failure(me, NODE, {"id": to_global_id("User", "", other.sub)})
    nobody = await failure(me, NODE, {"id": to_global_id("User", "", uid("nobody"))})
    assert theirs["extensions"]["code"] == "NOT_FOUND"
    assert theirs["message"] == nobody["message"]

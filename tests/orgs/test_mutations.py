"""Organization, invitation and member mutations: the business rules and their audit trail."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from graphql_api.common.ids import from_global_id
from graphql_api.common.time import iso, utcnow
from graphql_api.context import Resources
from graphql_api.store import keys
from tests.support.factories import ACCEPT, INVITE, add_member, create_org, uid
from tests.support.fast_moto import FastMotoServer, fast_moto_fixture  # noqa: F401
from tests.support.graphql import GraphQLClient
from tests.support.isolated import IsolatedApp, isolated_app

ClientFor = Callable[..., GraphQLClient]

CREATE = """mutation($name: String!, $slug: String!) {
  createOrganization(input: {name: $name, slug: $slug}) { id name slug plan version viewerRole }
}"""
UPDATE = """mutation($id: ID!, $name: String, $plan: Plan) {
  updateOrganization(input: {id: $id, name: $name, plan: $plan}) { name plan version }
}"""
UPDATE_ROLE = """mutation($id: ID!, $role: Role!) {
  updateMemberRole(memberId: $id, role: $role) { userId role }
}"""
REMOVE = "mutation($id: ID!) { removeMember(memberId: $id) { userId role } }"
REVOKE = "mutation($id: ID!) { revokeInvitation(id: $id) { status } }"
ORG = """query($id: ID!) {
  organization(id: $id) {
    usage { members }
    invitations(first: 100) { nodes { id email role status expiresAt } }
    auditLog(first: 100) { nodes { action entityType entityId actorId details } }
  }
}"""


# A table of its own on the fast moto: this module creates many organizations.
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


async def org_state(client: GraphQLClient, org_id: str) -> dict[str, Any]:
    data = await client.data(ORG, {"id": org_id})
    state: dict[str, Any] = data["organization"]
    return state


def actions(state: dict[str, Any]) -> list[str]:
    return [e["action"] for e in state["auditLog"]["nodes"]]


async def invite(
    inviter: GraphQLClient, org_id: str, email: str, role: str = "MEMBER"
) -> dict[str, Any]:
    data = await inviter.data(INVITE, {"input": {"orgId": org_id, "email": email, "role": role}})
    result: dict[str, Any] = data["inviteMember"]
    return result


async def error(client: GraphQLClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = await client.execute(query, variables)
    assert body.get("errors"), body
    first: dict[str, Any] = body["errors"][0]
    return first


# organizations -------------------------------------------------------------------------------
async def test_create_organization(client_for: ClientFor) -> None:
    me = client_for(uid("founder"))
    slug = uid("acme")
    data = await me.data(CREATE, {"name": "  Acme  ", "slug": slug})
    org = data["createOrganization"]
    assert (org["name"], org["slug"], org["plan"], org["version"]) == ("Acme", slug, "FREE", 1)
    assert org["viewerRole"] == "OWNER"
    state = await org_state(me, org["id"])
    assert state["usage"]["members"] == 1
    assert actions(state) == ["organization.created"]
    memberships = (await me.data("{ me { memberships { role } } }"))["me"]["memberships"]
    assert memberships == [{"role": "OWNER"}]


async def test_slugs_are_unique(client_for: ClientFor) -> None:
    slug = uid("taken")
    await client_for(uid("a")).data(CREATE, {"name": "A", "slug": slug})
    second = client_for(uid("b"))
    failure = await error(second, CREATE, {"name": "B", "slug": slug})
    assert failure["extensions"]["code"] == "CONFLICT"
    # The loser got nothing: no half-created organization.
    assert (await second.data("{ me { memberships { role } } }"))["me"]["memberships"] == []


@pytest.mark.parametrize(
    ("name", "slug"),
    [("", "valid-slug-x"), ("x" * 101, "valid-slug-y"), ("ok", "No_Caps"), ("ok", "ab")],
)
async def test_create_organization_validates_input(
    client_for: ClientFor, name: str, slug: str
) -> None:
    code = await client_for(uid("v")).error_code(CREATE, {"name": name, "slug": slug})
    assert code == "BAD_USER_INPUT"


async def test_update_organization_name_and_plan(client_for: ClientFor) -> None:
    org = await create_org(client_for, roles=[], plan=None)
    owner = org.clients["OWNER"]
    data = await owner.data(UPDATE, {"id": org.id, "name": "Renamed"})
    assert data["updateOrganization"] == {"name": "Renamed", "plan": "FREE", "version": 2}
    data = await owner.data(UPDATE, {"id": org.id, "plan": "PROFESSIONAL"})
    assert data["updateOrganization"] == {"name": "Renamed", "plan": "PROFESSIONAL", "version": 3}
    state = await org_state(owner, org.id)
    assert actions(state)[:2] == ["organization.updated", "organization.updated"]
    assert state["auditLog"]["nodes"][0]["details"] == {"plan": "PROFESSIONAL"}


async def test_downgrading_below_the_member_count_is_refused(client_for: ClientFor) -> None:
    org = await create_org(client_for)  # STARTER, 5 members
    await add_member(org.clients["OWNER"], client_for, org.id, "VIEWER")
    failure = await error(org.clients["OWNER"], UPDATE, {"id": org.id, "plan": "FREE"})
    assert failure["extensions"]["code"] == "LIMIT_EXCEEDED"


# invitations ---------------------------------------------------------------------------------
async def test_invite_and_accept(client_for: ClientFor) -> None:
    org = await create_org(client_for, roles=["ADMIN"])
    admin = org.clients["ADMIN"]
    person = client_for(uid("joiner"))
    assert person.email is not None
    result = await invite(admin, org.id, person.email.upper(), "MANAGER")
    assert result["invitation"]["status"] == "PENDING"
    data = await person.data(ACCEPT, {"t": result["token"]})
    assert data["acceptInvitation"] == {"role": "MANAGER"}
    state = await org_state(admin, org.id)
    assert state["usage"]["members"] == 3
    (invitation,) = [
        i for i in state["invitations"]["nodes"] if i["id"] == result["invitation"]["id"]
    ]
    assert invitation["status"] == "ACCEPTED"
    assert invitation["email"] == person.email.lower()
    assert actions(state)[:2] == ["invitation.accepted", "invitation.created"]
    # A token works once.
    assert await person.error_code(ACCEPT, {"t": result["token"]}) == "BAD_USER_INPUT"


async def test_accepting_an_owner_invitation(client_for: ClientFor) -> None:
    org = await create_org(client_for, roles=[])
    owner = org.clients["OWNER"]
    second = await add_member(owner, client_for, org.id, "OWNER")
    me = (await second.data("{ me { memberships { role } } }"))["me"]["memberships"]
    assert me == [{"role": "OWNER"}]
    # Two owners now: the first may step down.
    data = await owner.data(UPDATE_ROLE, {"id": org.member_id("OWNER"), "role": "ADMIN"})
    assert data["updateMemberRole"]["role"] == "ADMIN"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: "nope",
        lambda t: "a.b.c",
        lambda t: "",
    ],
)
async def test_bad_invitation_tokens_are_not_found(
    client_for: ClientFor, mangle: Callable[[str], str]
) -> None:
    org = await create_org(client_for, roles=[], plan=None)
    person = client_for(uid("guess"))
    assert person.email is not None
    result = await invite(org.clients["OWNER"], org.id, person.email)
    assert await person.error_code(ACCEPT, {"t": mangle(result["token"])}) == "NOT_FOUND"


async def test_invitation_for_another_email_is_forbidden(client_for: ClientFor) -> None:
    org = await create_org(client_for, roles=[], plan=None)
    result = await invite(org.clients["OWNER"], org.id, "someone.else@example.test")
    intruder = client_for(uid("intruder"))
    assert await intruder.error_code(ACCEPT, {"t": result["token"]}) == "FORBIDDEN"
    # Still usable by the right person.
    rightful = client_for(uid("rightful"), "someone.else@example.test")
    assert (await rightful.data(ACCEPT, {"t": result["token"]}))["acceptInvitation"]["role"]


async def test_expired_invitations(client_for: ClientFor, resources: Resources) -> None:
    org = await create_org(client_for, roles=[], plan=None)
    owner = org.clients["OWNER"]
    person = client_for(uid("late"))
    assert person.email is not None
    result = await invite(owner, org.id, person.email)
    gid = from_global_id(result["invitation"]["id"])
    # DynamoDB's TTL deletes late (moto never does): reads must check the expiry themselves.
    await resources.store.update(
        keys.invitation(gid.org_id, gid.id),
        "SET expiresAt = :past",
        values={":past": iso(utcnow() - timedelta(minutes=1))},
    )
    failure = await error(person, ACCEPT, {"t": result["token"]})
    assert failure["extensions"] == {"code": "BAD_USER_INPUT", "status": "EXPIRED"}
    state = await org_state(owner, org.id)
    assert [i["status"] for i in state["invitations"]["nodes"]] == ["EXPIRED"]
    assert state["usage"]["members"] == 1
    assert await owner.error_code(REVOKE, {"id": result["invitation"]["id"]}) == "BAD_USER_INPUT"


async def test_revoke_invitation(client_for: ClientFor) -> None:
    org = await create_org(client_for, roles=["ADMIN"], plan=None)
    person = client_for(uid("revoked"))
    assert person.email is not None
    result = await invite(org.clients["ADMIN"], org.id, person.email)
    data = await org.clients["ADMIN"].data(REVOKE, {"id": result["invitation"]["id"]})
    assert data["revokeInvitation"]["status"] == "REVOKED"
    failure = await error(person, ACCEPT, {"t": result["token"]})
    assert failure["extensions"] == {"code": "BAD_USER_INPUT", "status": "REVOKED"}
    state = await org_state(org.clients["OWNER"], org.id)
    assert actions(state)[0] == "invitation.revoked"


async def test_invalid_invitation_email(client_for: ClientFor) -> None:
    org = await create_org(client_for, roles=[], plan=None)
    variables = {"input": {"orgId": org.id, "email": "not-an-email", "role": "MEMBER"}}
    assert await org.clients["OWNER"].error_code(INVITE, variables) == "BAD_USER_INPUT"


# member limit --------------------------------------------------------------------------------
async def test_free_plan_member_limit(client_for: ClientFor) -> None:
    org = await create_org(client_for, roles=[], plan=None)  # FREE: 5 members
    owner = org.clients["OWNER"]
    # Two invitations issued while there is room, accepted only when there is none.
    late = [client_for(uid("late")) for _ in range(2)]
    pending = [await invite(owner, org.id, p.email or "") for p in late]
    for _ in range(3):
        await add_member(owner, client_for, org.id, "MEMBER")
    await late[0].data(ACCEPT, {"t": pending[0]["token"]})  # the 5th member
    state = await org_state(owner, org.id)
    assert state["usage"]["members"] == 5
    # The 6th: refused at invitation time...
    variables = {"input": {"orgId": org.id, "email": "sixth@example.test", "role": "MEMBER"}}
    failure = await error(owner, INVITE, variables)
    assert failure["extensions"] == {"code": "LIMIT_EXCEEDED", "limit": 5}
    # ...and at acceptance of an older invitation, atomically with the member count.
    failure = await error(late[1], ACCEPT, {"t": pending[1]["token"]})
    assert failure["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert (await org_state(owner, org.id))["usage"]["members"] == 5
    # Upgrading makes room.
    await owner.data(UPDATE, {"id": org.id, "plan": "STARTER"})
    await late[1].data(ACCEPT, {"t": pending[1]["token"]})
    assert (await org_state(owner, org.id))["usage"]["members"] == 6


# last owner ----------------------------------------------------------------------------------
async def test_the_last_owner_cannot_be_demoted_or_leave(client_for: ClientFor) -> None:
    org = await create_org(client_for, roles=["ADMIN"], plan=None)
    owner = org.clients["OWNER"]
    me = org.member_id("OWNER")
    for role in ["ADMIN", "VIEWER"]:
        failure = await error(owner, UPDATE_ROLE, {"id": me, "role": role})
        assert failure["extensions"]["code"] == "BAD_USER_INPUT"
        assert "last OWNER" in failure["message"]
    failure = await error(owner, REMOVE, {"id": me})
    assert failure["extensions"]["code"] == "BAD_USER_INPUT"
    assert "last OWNER" in failure["message"]
    state = await org_state(owner, org.id)
    assert state["usage"]["members"] == 2
    assert "member.removed" not in actions(state)


async def test_owners_hand_over(client_for: ClientFor) -> None:
    org = await create_org(client_for, roles=["ADMIN"], plan=None)
    first = org.clients["OWNER"]
    admin_id = org.member_id("ADMIN")
    await first.data(UPDATE_ROLE, {"id": admin_id, "role": "OWNER"})
    # The first owner leaves; the promoted one is now the last and stays.
    data = await first.data(REMOVE, {"id": org.member_id("OWNER")})
    assert data["removeMember"]["role"] == "OWNER"
    second = org.clients["ADMIN"]
    failure = await error(second, UPDATE_ROLE, {"id": admin_id, "role": "ADMIN"})
    assert failure["extensions"]["code"] == "BAD_USER_INPUT"
    state = await org_state(second, org.id)
    assert state["usage"]["members"] == 1
    assert actions(state)[:2] == ["member.removed", "member.role_updated"]


# members ------------------------------------------------------------------------------------
async def test_role_change_and_removal_are_audited(client_for: ClientFor) -> None:
    org = await create_org(client_for, roles=["ADMIN", "MEMBER"], plan=None)
    admin = org.clients["ADMIN"]
    target = org.member_id("MEMBER")
    data = await admin.data(UPDATE_ROLE, {"id": target, "role": "MANAGER"})
    assert data["updateMemberRole"]["role"] == "MANAGER"
    await admin.data(REMOVE, {"id": target})
    state = await org_state(admin, org.id)
    assert state["usage"]["members"] == 2
    removed, updated = state["auditLog"]["nodes"][:2]
    sub = org.clients["MEMBER"].sub
    assert (removed["action"], removed["entityId"], removed["details"]) == (
        "member.removed",
        sub,
        {"role": "MANAGER"},
    )
    assert updated["details"] == {"before": "MEMBER", "after": "MANAGER"}
    assert updated["actorId"] == admin.sub
    # The removed member lost access at once.
    gone = await org.clients["MEMBER"].error_code(ORG, {"id": org.id})
    assert gone == "NOT_FOUND"
    # Removing again: the member is gone.
    assert await admin.error_code(REMOVE, {"id": target}) == "NOT_FOUND"


async def test_every_mutation_writes_one_audit_entry(client_for: ClientFor) -> None:
    org = await create_org(client_for, roles=[], plan=None)
    owner = org.clients["OWNER"]
    person = client_for(uid("audited"))
    assert person.email is not None
    result = await invite(owner, org.id, person.email)
    other = await invite(owner, org.id, "other@example.test")
    steps: list[tuple[GraphQLClient, str, dict[str, Any]]] = [
        (person, ACCEPT, {"t": result["token"]}),
        (owner, REVOKE, {"id": other["invitation"]["id"]}),
        (owner, UPDATE, {"id": org.id, "name": "Audited"}),
    ]
    for client, query, variables in steps:
        await client.data(query, variables)
    state = await org_state(owner, org.id)
    assert actions(state) == [
        "organization.updated",
        "invitation.revoked",
        "invitation.accepted",
        "invitation.created",
        "invitation.created",
        "organization.created",
    ]


async def test_a_member_cannot_join_twice(client_for: ClientFor) -> None:
    org = await create_org(client_for, roles=["MEMBER"], plan=None)
    member = org.clients["MEMBER"]
    assert member.email is not None
    again = await invite(org.clients["OWNER"], org.id, member.email, "VIEWER")
    assert await member.error_code(ACCEPT, {"t": again["token"]}) == "CONFLICT"
    state = await org_state(org.clients["OWNER"], org.id)
    assert state["usage"]["members"] == 2

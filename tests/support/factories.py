"""Plain factory functions that build state through the public API."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.support.graphql import GraphQLClient

ROLES = ["OWNER", "ADMIN", "MANAGER", "MEMBER", "VIEWER"]

CREATE_ORG = """
mutation($input: CreateOrganizationInput!) {
  createOrganization(input: $input) { id name slug plan }
}"""
INVITE = """
mutation($input: InviteMemberInput!) {
  inviteMember(input: $input) { token invitation { id status } }
}"""
ACCEPT = "mutation($t: String!) { acceptInvitation(token: $t) { role } }"
SET_PLAN = """
mutation($id: ID!, $plan: Plan) { updateOrganization(input: {id: $id, plan: $plan}) { plan } }"""


@dataclass
class OrgFixture:
    """An organization with one client per role (keys: OWNER, ADMIN, ...)."""

    id: str
    slug: str
    clients: dict[str, GraphQLClient] = field(default_factory=dict)

    def member_id(self, role: str) -> str:
        from graphql_api.common.ids import from_global_id, to_global_id

        org = from_global_id(self.id).org_id
        sub = self.clients[role].sub
        assert sub is not None
        return to_global_id("Member", org, sub)


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def create_org(
    client_for: Callable[..., GraphQLClient],
    roles: list[str] | None = None,
    plan: str | None = "STARTER",
) -> OrgFixture:
    owner = client_for(uid("owner"))
    slug = uid("org")
    data = await owner.data(CREATE_ORG, {"input": {"name": "Test Org", "slug": slug}})
    org = OrgFixture(id=data["createOrganization"]["id"], slug=slug, clients={"OWNER": owner})
    if plan:
        await owner.data(SET_PLAN, {"id": org.id, "plan": plan})
    for role in roles if roles is not None else ROLES[1:]:
        org.clients[role] = await add_member(owner, client_for, org.id, role)
    return org


async def add_member(
    inviter: GraphQLClient, client_for: Callable[..., GraphQLClient], org_id: str, role: str
) -> GraphQLClient:
    person = client_for(uid(role.lower()))
    invite = await inviter.data(
        INVITE, {"input": {"orgId": org_id, "email": person.email, "role": role}}
    )
    await person.data(ACCEPT, {"t": invite["inviteMember"]["token"]})
    return person

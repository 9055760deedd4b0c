"""Operations and plain factory functions of the team tests."""

from __future__ import annotations

from typing import Any

from graphql_api.common.ids import from_global_id, to_global_id
from tests.support.graphql import GraphQLClient

TEAM_FIELDS = "id name description memberCount version"
CREATE_TEAM = f"""
mutation($input: CreateTeamInput!) {{ createTeam(input: $input) {{ {TEAM_FIELDS} }} }}"""
UPDATE_TEAM = f"""
mutation($input: UpdateTeamInput!) {{ updateTeam(input: $input) {{ {TEAM_FIELDS} }} }}"""
DELETE_TEAM = "mutation($id: ID!) { deleteTeam(id: $id) { id name } }"
ADD_MEMBER = """
mutation($input: AddTeamMemberInput!) {
  addTeamMember(input: $input) { userId name role memberId team { id memberCount } }
}"""
REMOVE_MEMBER = """
mutation($team: ID!, $member: ID!) {
  removeTeamMember(teamId: $team, memberId: $member) { userId role }
}"""
TEAM = f"""
query($id: ID!) {{
  team(id: $id) {{ {TEAM_FIELDS} members {{ nodes {{ userId role name memberId }} }} }}
}}"""
AUDIT = """
query($id: ID!, $entity: String) {
  organization(id: $id) {
    auditLog(entityId: $entity, first: 100) { nodes { action entityType entityId actorId details } }
  }
}"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Team { name memberCount } } }"
ORG_TEAMS = """
query($id: ID!, $first: Int, $after: String) {
  organization(id: $id) {
    teams(first: $first, after: $after) {
      nodes { id name }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""
TEAM_MEMBERS = """
query($id: ID!, $first: Int, $after: String) {
  team(id: $id) {
    members(first: $first, after: $after) {
      nodes { userId role }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""


async def create_team(client: GraphQLClient, org_id: str, name: str = "Crew") -> dict[str, Any]:
    data = await client.data(CREATE_TEAM, {"input": {"orgId": org_id, "name": name}})
    team: dict[str, Any] = data["createTeam"]
    return team


async def add_to_team(
    client: GraphQLClient, team_id: str, member_id: str, role: str = "MEMBER"
) -> dict[str, Any]:
    data = await client.data(
        ADD_MEMBER, {"input": {"teamId": team_id, "memberId": member_id, "role": role}}
    )
    added: dict[str, Any] = data["addTeamMember"]
    return added


def member_id_of(org_id: str, client: GraphQLClient) -> str:
    """The Member global ID of `client`'s person in the organization `org_id` (global ID)."""
    assert client.sub is not None
    return to_global_id("Member", from_global_id(org_id).org_id, client.sub)


def local_id(global_id: str) -> str:
    return from_global_id(global_id).id


async def audit_of(admin: GraphQLClient, org_id: str, entity_id: str) -> list[dict[str, Any]]:
    """Audit entries of one entity (a local ID), newest first, read through `auditLog`."""
    data = await admin.data(AUDIT, {"id": org_id, "entity": entity_id})
    entries: list[dict[str, Any]] = data["organization"]["auditLog"]["nodes"]
    return entries

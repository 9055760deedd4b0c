"""Who may do what with teams: one role x operation table; other tenants' IDs are NOT_FOUND."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from graphql_api.common.ids import from_global_id, to_global_id
from tests.support.factories import OrgFixture, add_member, create_org
from tests.support.graphql import GraphQLClient
from tests.teams.helpers import (
    ADD_MEMBER,
    CREATE_TEAM,
    DELETE_TEAM,
    NODE,
    REMOVE_MEMBER,
    TEAM,
    UPDATE_TEAM,
    add_to_team,
    create_team,
    member_id_of,
)

ACTORS = ["OWNER", "ADMIN", "MANAGER", "MEMBER", "VIEWER", "LEAD", "LEAD_OTHER"]
OK, NO = "ok", "FORBIDDEN"
# LEAD: an org MEMBER who leads the team acted on; LEAD_OTHER: the same, on a team they don't lead.
MATRIX: dict[str, list[str]] = {
    #               OWNER ADMIN MANAGER MEMBER VIEWER LEAD LEAD_OTHER
    "read": [OK, OK, OK, OK, OK, OK, OK],
    "createTeam": [OK, OK, OK, NO, NO, NO, NO],
    "updateTeam": [OK, OK, OK, NO, NO, NO, NO],
    "deleteTeam": [OK, OK, OK, NO, NO, NO, NO],
    "addMember": [OK, OK, OK, NO, NO, OK, NO],
    "addLead": [OK, OK, OK, NO, NO, NO, NO],
    "removeMember": [OK, OK, OK, NO, NO, OK, NO],
    "removeLead": [OK, OK, OK, NO, NO, NO, NO],
}


@dataclass
class World:
    org: OrgFixture
    lead: GraphQLClient
    target: GraphQLClient
    other_org: OrgFixture
    other_team: dict[str, str]

    @property
    def owner(self) -> GraphQLClient:
        return self.org.clients["OWNER"]


@pytest.fixture(scope="module")
async def world(http: httpx.AsyncClient) -> AsyncIterator[World]:
    def client_for(sub: str | None, email: str | None = None) -> GraphQLClient:
        return GraphQLClient(http, sub, email)

    org = await create_org(client_for)
    owner = org.clients["OWNER"]
    lead = await add_member(owner, client_for, org.id, "MEMBER")
    target = await add_member(owner, client_for, org.id, "MEMBER")
    home = await create_team(owner, org.id, "Lead's home team")
    await add_to_team(owner, home["id"], member_id_of(org.id, lead), "LEAD")
    other_org = await create_org(client_for, roles=["MEMBER"])
    other_team = await create_team(other_org.clients["OWNER"], other_org.id)
    yield World(org, lead, target, other_org, other_team)


async def _team(world: World, op: str, led: bool) -> str:
    """A team set up for `op`: led by world.lead or not; the target on it for removals."""
    owner, org = world.owner, world.org
    team = await create_team(owner, org.id, f"for {op}")
    if led:
        await add_to_team(owner, team["id"], member_id_of(org.id, world.lead), "LEAD")
    if op in ("removeMember", "removeLead"):
        role = "LEAD" if op == "removeLead" else "MEMBER"
        await add_to_team(owner, team["id"], member_id_of(org.id, world.target), role)
    return str(team["id"])


async def _attempt(world: World, op: str, actor: str, team_id: str) -> str:
    """Try `op` on `team_id` as `actor`; the error code, or "ok"."""
    org = world.org
    client = world.lead if actor.startswith("LEAD") else org.clients[actor]
    target = member_id_of(org.id, world.target)
    if op == "read":
        body = await client.execute(TEAM, {"id": team_id})
    elif op == "createTeam":
        body = await client.execute(CREATE_TEAM, {"input": {"orgId": org.id, "name": "New"}})
    elif op == "updateTeam":
        body = await client.execute(UPDATE_TEAM, {"input": {"id": team_id, "name": actor}})
    elif op == "deleteTeam":
        body = await client.execute(DELETE_TEAM, {"id": team_id})
    elif op in ("addMember", "addLead"):
        role = "LEAD" if op == "addLead" else "MEMBER"
        body = await client.execute(
            ADD_MEMBER, {"input": {"teamId": team_id, "memberId": target, "role": role}}
        )
    else:
        body = await client.execute(REMOVE_MEMBER, {"team": team_id, "member": target})
    if body.get("errors"):
        return str(body["errors"][0]["extensions"]["code"])
    assert body["data"], body
    return OK


@pytest.mark.parametrize("op", list(MATRIX))
async def test_role_operation_matrix(world: World, op: str) -> None:
    # Cells that change the team get a team of their own; the others share one (DynamoDB
    # transactions are what makes these tests slow, so the table does not build one per cell).
    shared = {led: await _team(world, op, led) for led in (False, True)}
    got = {}
    for actor, expected in zip(ACTORS, MATRIX[op], strict=True):
        led = actor == "LEAD"
        mutates = expected == OK and op not in ("read", "createTeam")
        team_id = await _team(world, op, led) if mutates else shared[led]
        got[actor] = await _attempt(world, op, actor, team_id)
    assert got == dict(zip(ACTORS, MATRIX[op], strict=True))


async def test_anyone_on_a_team_may_leave_it(world: World) -> None:
    owner, org = world.owner, world.org
    team = await create_team(owner, org.id)
    member = org.clients["MEMBER"]
    await add_to_team(owner, team["id"], member_id_of(org.id, member))
    data = await member.data(
        REMOVE_MEMBER, {"team": team["id"], "member": member_id_of(org.id, member)}
    )
    assert data["removeTeamMember"]["userId"] == member.sub


async def test_a_lead_cannot_change_another_members_role_to_lead(world: World) -> None:
    owner, org = world.owner, world.org
    team = await create_team(owner, org.id)
    await add_to_team(owner, team["id"], member_id_of(org.id, world.lead), "LEAD")
    target = member_id_of(org.id, world.target)
    await add_to_team(world.lead, team["id"], target)
    code = await world.lead.error_code(
        ADD_MEMBER, {"input": {"teamId": team["id"], "memberId": target, "role": "LEAD"}}
    )
    assert code == "FORBIDDEN"


async def test_other_tenants_ids_are_not_found_in_every_argument(world: World) -> None:
    owner, org = world.owner, world.org
    mine = await create_team(owner, org.id)
    theirs = world.other_team["id"]
    their_member = member_id_of(world.other_org.id, world.other_org.clients["MEMBER"])
    my_member = member_id_of(org.id, world.target)
    calls = [
        (CREATE_TEAM, {"input": {"orgId": world.other_org.id, "name": "x"}}),
        (UPDATE_TEAM, {"input": {"id": theirs, "name": "x"}}),
        (DELETE_TEAM, {"id": theirs}),
        (ADD_MEMBER, {"input": {"teamId": theirs, "memberId": my_member}}),
        (ADD_MEMBER, {"input": {"teamId": mine["id"], "memberId": their_member}}),
        (REMOVE_MEMBER, {"team": theirs, "member": my_member}),
        (REMOVE_MEMBER, {"team": mine["id"], "member": their_member}),
        (TEAM, {"id": theirs}),
        (NODE, {"id": theirs}),
    ]
    for query, variables in calls:
        assert await owner.error_code(query, variables) == "NOT_FOUND", (query, variables)
    # Their team answers exactly like a team that does not exist in my organization.
    missing = to_global_id("Team", from_global_id(org.id).org_id, "nope")
    other = await owner.execute(TEAM, {"id": theirs})
    absent = await owner.execute(TEAM, {"id": missing})
    assert other["errors"][0]["message"] == absent["errors"][0]["message"] == "Team not found"
    # IDs of the wrong type are NOT_FOUND too.
    code = await owner.error_code(
        ADD_MEMBER, {"input": {"teamId": mine["id"], "memberId": mine["id"]}}
    )
    assert code == "NOT_FOUND"

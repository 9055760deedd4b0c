"""Team queries: organization.teams, team(id), node(id), members; pagination bounds."""

from __future__ import annotations

import pytest

from tests.support.factories import add_member, create_org
from tests.support.graphql import all_pages
from tests.teams.helpers import (
    NODE,
    ORG_TEAMS,
    TEAM,
    TEAM_MEMBERS,
    add_to_team,
    create_team,
    member_id_of,
)


async def test_organization_teams_pages_through_every_team(client_for):
    org = await create_org(client_for, roles=["VIEWER"])
    owner = org.clients["OWNER"]
    created = {(await create_team(owner, org.id, f"T{i}"))["id"] for i in range(5)}
    viewer = org.clients["VIEWER"]
    seen, calls = await all_pages(viewer, ORG_TEAMS, {"id": org.id}, ["organization", "teams"], 2)
    assert {t["id"] for t in seen} == created
    assert len(seen) == 5
    assert calls == 3
    everything = await viewer.data(ORG_TEAMS, {"id": org.id})
    assert len(everything["organization"]["teams"]["nodes"]) == 5
    assert everything["organization"]["teams"]["pageInfo"]["hasNextPage"] is False


async def test_team_members_page_through_every_member(client_for):
    org = await create_org(client_for, roles=["ADMIN", "MANAGER", "MEMBER", "VIEWER"])
    owner = org.clients["OWNER"]
    team = await create_team(owner, org.id)
    for role in org.clients:
        await add_to_team(owner, team["id"], member_id_of(org.id, org.clients[role]))
    seen, calls = await all_pages(owner, TEAM_MEMBERS, {"id": team["id"]}, ["team", "members"], 2)
    assert sorted(m["userId"] for m in seen) == sorted(c.sub for c in org.clients.values())
    assert calls == 3


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_page_size_bounds(client_for, first):
    org = await create_org(client_for, roles=[])
    owner = org.clients["OWNER"]
    team = await create_team(owner, org.id)
    assert await owner.error_code(ORG_TEAMS, {"id": org.id, "first": first}) == "BAD_USER_INPUT"
    assert await owner.error_code(TEAM_MEMBERS, {"id": team["id"], "first": first}) == (
        "BAD_USER_INPUT"
    )


async def test_first_100_is_allowed_and_cursors_are_bound_to_their_list(client_for):
    org = await create_org(client_for, roles=[])
    owner = org.clients["OWNER"]
    for i in range(2):
        await create_team(owner, org.id, f"T{i}")
    data = await owner.data(ORG_TEAMS, {"id": org.id, "first": 100})
    assert len(data["organization"]["teams"]["nodes"]) == 2
    first_page = await owner.data(ORG_TEAMS, {"id": org.id, "first": 1})
    cursor = first_page["organization"]["teams"]["pageInfo"]["endCursor"]
    team = await create_team(owner, org.id)
    code = await owner.error_code(TEAM_MEMBERS, {"id": team["id"], "after": cursor})
    assert code == "BAD_USER_INPUT"
    other = await create_org(client_for, roles=[])
    code = await other.clients["OWNER"].error_code(ORG_TEAMS, {"id": other.id, "after": cursor})
    assert code == "BAD_USER_INPUT"


async def test_team_and_node_resolve_for_members_only(client_for):
    org = await create_org(client_for, roles=["VIEWER"])
    owner = org.clients["OWNER"]
    team = await create_team(owner, org.id, "Ops")
    data = await org.clients["VIEWER"].data(NODE, {"id": team["id"]})
    assert data["node"] == {"id": team["id"], "name": "Ops", "memberCount": 0}
    data = await org.clients["VIEWER"].data(TEAM, {"id": team["id"]})
    assert data["team"]["name"] == "Ops"

    outsider = (await create_org(client_for, roles=[])).clients["OWNER"]
    assert await outsider.error_code(NODE, {"id": team["id"]}) == "NOT_FOUND"
    assert await outsider.error_code(TEAM, {"id": team["id"]}) == "NOT_FOUND"
    assert await client_for(None).error_code(TEAM, {"id": team["id"]}) == "UNAUTHENTICATED"


async def test_team_member_name_comes_from_the_membership(client_for):
    org = await create_org(client_for, roles=[])
    owner = org.clients["OWNER"]
    person = await add_member(owner, client_for, org.id, "MEMBER")
    team = await create_team(owner, org.id)
    await add_to_team(owner, team["id"], member_id_of(org.id, person))
    data = await owner.data(TEAM, {"id": team["id"]})
    assert data["team"]["members"]["nodes"] == [
        {
            "userId": person.sub,
            "role": "MEMBER",
            "name": person.sub,
            "memberId": member_id_of(org.id, person),
        }
    ]

"""Team mutations: create, update, delete, members; audit entries; service contract."""

from __future__ import annotations

import pytest

from graphql_api.auth.principal import Principal
from graphql_api.context import Context
from graphql_api.errors import AppError, ErrorCode
from graphql_api.teams import service
from tests.support.factories import add_member, create_org
from tests.teams.helpers import (
    ADD_MEMBER,
    DELETE_TEAM,
    NODE,
    REMOVE_MEMBER,
    TEAM,
    UPDATE_TEAM,
    add_to_team,
    audit_of,
    create_team,
    local_id,
    member_id_of,
)


def _ctx(resources, sub: str) -> Context:
    return Context(resources=resources, principal=Principal(id=sub))


async def test_create_update_delete_team(client_for):
    org = await create_org(client_for, roles=["ADMIN", "MANAGER"])
    manager = org.clients["MANAGER"]
    team = await create_team(manager, org.id, "  Night shift ")
    assert team["name"] == "Night shift"
    assert (team["memberCount"], team["version"], team["description"]) == (0, 1, None)

    data = await manager.data(
        UPDATE_TEAM,
        {"input": {"id": team["id"], "description": "Works nights", "expectedVersion": 1}},
    )
    assert data["updateTeam"]["description"] == "Works nights"
    assert data["updateTeam"]["version"] == 2

    deleted = await manager.data(DELETE_TEAM, {"id": team["id"]})
    assert deleted["deleteTeam"]["name"] == "Night shift"
    assert await manager.error_code(NODE, {"id": team["id"]}) == "NOT_FOUND"
    assert await manager.error_code(DELETE_TEAM, {"id": team["id"]}) == "NOT_FOUND"


async def test_update_team_stale_version_is_conflict_with_current_version(client_for):
    org = await create_org(client_for, roles=[])
    owner = org.clients["OWNER"]
    team = await create_team(owner, org.id)
    await owner.data(UPDATE_TEAM, {"input": {"id": team["id"], "name": "A", "expectedVersion": 1}})
    body = await owner.execute(
        UPDATE_TEAM, {"input": {"id": team["id"], "name": "B", "expectedVersion": 1}}
    )
    ext = body["errors"][0]["extensions"]
    assert (ext["code"], ext["currentVersion"]) == ("CONFLICT", 2)


async def test_team_input_validation(client_for):
    org = await create_org(client_for, roles=[])
    owner = org.clients["OWNER"]
    for name in ["", "   ", "x" * 101]:
        code = await owner.error_code(
            "mutation($i: CreateTeamInput!) { createTeam(input: $i) { id } }",
            {"i": {"orgId": org.id, "name": name}},
        )
        assert code == "BAD_USER_INPUT"
    team = await create_team(owner, org.id)
    code = await owner.error_code(
        UPDATE_TEAM, {"input": {"id": team["id"], "description": "d" * 1001}}
    )
    assert code == "BAD_USER_INPUT"


async def test_add_change_role_and_remove_member(client_for):
    org = await create_org(client_for, roles=["MEMBER", "VIEWER"])
    owner = org.clients["OWNER"]
    team = await create_team(owner, org.id)
    member = org.clients["MEMBER"]
    added = await add_to_team(owner, team["id"], member_id_of(org.id, member))
    assert added["userId"] == member.sub
    assert added["role"] == "MEMBER"
    assert added["name"] == member.sub  # tokens carry name=sub in tests
    assert added["memberId"] == member_id_of(org.id, member)
    assert added["team"]["memberCount"] == 1

    # Adding again changes the role without counting the person twice.
    promoted = await add_to_team(owner, team["id"], member_id_of(org.id, member), "LEAD")
    assert promoted["role"] == "LEAD"
    assert promoted["team"]["memberCount"] == 1
    await add_to_team(owner, team["id"], member_id_of(org.id, org.clients["VIEWER"]))

    data = await org.clients["VIEWER"].data(TEAM, {"id": team["id"]})
    members = {m["userId"]: m["role"] for m in data["team"]["members"]["nodes"]}
    assert members == {member.sub: "LEAD", org.clients["VIEWER"].sub: "MEMBER"}
    assert data["team"]["memberCount"] == 2

    removed = await owner.data(
        REMOVE_MEMBER, {"team": team["id"], "member": member_id_of(org.id, member)}
    )
    assert removed["removeTeamMember"] == {"userId": member.sub, "role": "LEAD"}
    data = await owner.data(TEAM, {"id": team["id"]})
    assert data["team"]["memberCount"] == 1
    assert [m["userId"] for m in data["team"]["members"]["nodes"]] == [org.clients["VIEWER"].sub]
    code = await owner.error_code(
        REMOVE_MEMBER, {"team": team["id"], "member": member_id_of(org.id, member)}
    )
    assert code == "NOT_FOUND"


async def test_only_organization_members_join_teams(client_for):
    org = await create_org(client_for, roles=[])
    owner = org.clients["OWNER"]
    team = await create_team(owner, org.id)
    stranger = client_for("stranger-never-joined")
    code = await owner.error_code(
        ADD_MEMBER,
        {"input": {"teamId": team["id"], "memberId": member_id_of(org.id, stranger)}},
    )
    assert code == "NOT_FOUND"
    # A person who left the organization cannot be added either.
    leaver = await add_member(owner, client_for, org.id, "MEMBER")
    await leaver.data(
        "mutation($m: ID!) { removeMember(memberId: $m) { userId } }",
        {"m": member_id_of(org.id, leaver)},
    )
    code = await owner.error_code(
        ADD_MEMBER, {"input": {"teamId": team["id"], "memberId": member_id_of(org.id, leaver)}}
    )
    assert code == "NOT_FOUND"


async def test_every_team_mutation_is_audited(client_for):
    org = await create_org(client_for, roles=["ADMIN", "MEMBER"])
    owner = org.clients["OWNER"]
    team = await create_team(owner, org.id)
    mid = member_id_of(org.id, org.clients["MEMBER"])
    await owner.data(UPDATE_TEAM, {"input": {"id": team["id"], "name": "Renamed"}})
    await add_to_team(owner, team["id"], mid)
    await add_to_team(owner, team["id"], mid, "LEAD")
    await owner.data(REMOVE_MEMBER, {"team": team["id"], "member": mid})
    await owner.data(DELETE_TEAM, {"id": team["id"]})
    entries = await audit_of(org.clients["ADMIN"], org.id, local_id(team["id"]))
    assert sorted(e["action"] for e in entries) == sorted(
        [
            "team.created",
            "team.updated",
            "team.member_added",
            "team.member_role_updated",
            "team.member_removed",
            "team.deleted",
        ]
    )
    assert {(e["entityType"], e["entityId"], e["actorId"]) for e in entries} == {
        ("Team", local_id(team["id"]), owner.sub)
    }
    added = next(e for e in entries if e["action"] == "team.member_added")
    assert added["details"] == {"userId": org.clients["MEMBER"].sub, "role": "MEMBER"}


async def test_service_contract_for_other_domains(client_for, resources):
    org = await create_org(client_for, roles=["MEMBER", "VIEWER"])
    owner = org.clients["OWNER"]
    org_local = local_id(org.id)
    member, viewer = org.clients["MEMBER"], org.clients["VIEWER"]
    first = await create_team(owner, org.id, "First")
    second = await create_team(owner, org.id, "Second")
    await add_to_team(owner, first["id"], member_id_of(org.id, member))
    await add_to_team(owner, second["id"], member_id_of(org.id, member), "LEAD")
    await add_to_team(owner, first["id"], member_id_of(org.id, viewer))

    ctx = _ctx(resources, owner.sub)
    assert sorted(await service.team_ids_of(ctx, org_local, member.sub)) == sorted(
        [local_id(first["id"]), local_id(second["id"])]
    )
    assert sorted(await service.team_member_ids(ctx, org_local, local_id(first["id"]))) == sorted(
        [member.sub, viewer.sub]
    )
    item = await service.require_team(ctx, org_local, local_id(first["id"]))
    assert (item["entity"], item["name"], item["memberCount"]) == ("Team", "First", 2)

    # Deleting a team removes its memberships too.
    await owner.data(DELETE_TEAM, {"id": first["id"]})
    ctx = _ctx(resources, owner.sub)
    assert await service.team_ids_of(ctx, org_local, member.sub) == [local_id(second["id"])]
    assert await service.team_member_ids(ctx, org_local, local_id(first["id"])) == []
    with pytest.raises(AppError) as caught:
        await service.require_team(ctx, org_local, local_id(first["id"]))
    assert caught.value.code is ErrorCode.NOT_FOUND


async def test_someone_who_left_the_organization_leaves_its_teams(client_for, resources):
    org = await create_org(client_for, roles=["MEMBER"])
    owner, member = org.clients["OWNER"], org.clients["MEMBER"]
    org_local = local_id(org.id)
    teams = [await create_team(owner, org.id, name) for name in ("A", "B")]
    for team in teams:
        await add_to_team(owner, team["id"], member_id_of(org.id, member))
    await add_to_team(owner, teams[0]["id"], member_id_of(org.id, owner), "LEAD")

    left = await service.remove_from_all_teams(_ctx(resources, owner.sub), org_local, member.sub)
    assert sorted(left) == sorted(local_id(t["id"]) for t in teams)
    ctx = _ctx(resources, owner.sub)
    assert await service.team_ids_of(ctx, org_local, member.sub) == []
    assert await service.team_ids_of(ctx, org_local, owner.sub) == [local_id(teams[0]["id"])]
    counts = [(await owner.data(TEAM, {"id": t["id"]}))["team"]["memberCount"] for t in teams]
    assert counts == [1, 0]

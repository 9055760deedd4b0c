"""Removing someone from the organization takes them off its teams."""

from __future__ import annotations

from tests.support.factories import create_org
from tests.teams.helpers import TEAM, add_to_team, create_team, member_id_of

REMOVE = "mutation($m: ID!) { removeMember(memberId: $m) { userId } }"


async def test_removed_member_leaves_every_team(client_for):
    org = await create_org(client_for, roles=["ADMIN", "MEMBER"])
    admin, member = org.clients["ADMIN"], org.clients["MEMBER"]
    teams = [await create_team(admin, org.id, name) for name in ("Day", "Night")]
    for team in teams:
        await add_to_team(admin, team["id"], member_id_of(org.id, member))

    await admin.data(REMOVE, {"m": member_id_of(org.id, member)})

    for team in teams:
        data = await admin.data(TEAM, {"id": team["id"]})
        assert member.sub not in [m["userId"] for m in data["team"]["members"]["nodes"]]
        assert data["team"]["memberCount"] == 0

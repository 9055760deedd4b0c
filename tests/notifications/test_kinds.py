"""Who hears of what: ASSIGNED, RUN_SUBMITTED, RUN_REOPENED, INVITATION_ACCEPTED."""

from __future__ import annotations

from graphql_api.common.ids import to_global_id
from tests.notifications.inbox import consistent, inbox, kinds
from tests.support.domain_factories import REOPEN, SUBMIT, UPDATE_ASSIGNMENT, Workspace
from tests.support.factories import add_member
from tests.support.isolated import IsolatedApp


async def test_assigned_to_assignees_and_team_not_actor(fresh: Workspace) -> None:
    ws = fresh
    assignment = await ws.assign()
    for role in ("MEMBER", "TEAMMATE"):
        (note,) = await kinds(ws.client(role), "ASSIGNED")
        assert note["entityId"] == assignment["id"]
        assert note["orgId"] == ws.org_id
        assert note["read"] is False
        assert "Daily inspection" in note["body"]
        assert await consistent(ws.client(role)) == 1
    for role in ("MANAGER", "OUTSIDER", "VIEWER"):
        assert await kinds(ws.client(role), "ASSIGNED") == []

    # Assigning yourself notifies nobody.
    await ws.assign(assigneeIds=[ws.member_id("MANAGER")], teamId=None)
    assert await kinds(ws.client("MANAGER"), "ASSIGNED") == []


async def test_update_notifies_only_those_newly_given_it(fresh: Workspace) -> None:
    ws = fresh
    assignment = await ws.assign(teamId=None)
    update = {
        "id": assignment["id"],
        "assigneeIds": [ws.member_id(r) for r in ("MEMBER", "OUTSIDER", "MANAGER")],
    }
    await ws.client("MANAGER").data(UPDATE_ASSIGNMENT, {"input": update})
    assert len(await kinds(ws.client("OUTSIDER"), "ASSIGNED")) == 1
    # MEMBER already had it; the MANAGER made the change.
    assert len(await kinds(ws.client("MEMBER"), "ASSIGNED")) == 1
    assert await kinds(ws.client("MANAGER"), "ASSIGNED") == []
    # Giving it to the team reaches its members.
    team = {"id": assignment["id"], "teamId": ws.team_id}
    await ws.client("MANAGER").data(UPDATE_ASSIGNMENT, {"input": team})
    (note,) = await kinds(ws.client("TEAMMATE"), "ASSIGNED")
    assert note["entityId"] == assignment["id"]
    assert await consistent(ws.client("OUTSIDER")) == 1


async def test_submit_and_reopen_notify_assignees_and_team(fresh: Workspace) -> None:
    ws = fresh
    run = await ws.start((await ws.assign())["id"])
    await ws.complete_required(run["id"])
    await ws.client("MEMBER").data(SUBMIT, {"id": run["id"]})
    (submitted,) = await kinds(ws.client("TEAMMATE"), "RUN_SUBMITTED")
    assert submitted["entityId"] == run["id"]
    assert await kinds(ws.client("MEMBER"), "RUN_SUBMITTED") == []
    assert await kinds(ws.client("MANAGER"), "RUN_SUBMITTED") == []

    await ws.client("MANAGER").data(REOPEN, {"id": run["id"], "note": "Gauge photo missing"})
    for role in ("MEMBER", "TEAMMATE"):
        (reopened,) = await kinds(ws.client(role), "RUN_REOPENED")
        assert reopened["entityId"] == run["id"]
        assert reopened["body"] == "Gauge photo missing"
    assert await kinds(ws.client("MANAGER"), "RUN_REOPENED") == []
    assert await kinds(ws.client("OUTSIDER"), "RUN_REOPENED") == []
    assert await consistent(ws.client("TEAMMATE")) == 3
    assert await consistent(ws.client("MEMBER")) == 2


async def test_invitation_accepted_notifies_admins_and_owners(
    fresh: Workspace, isolated: IsolatedApp
) -> None:
    ws = fresh
    before = {r: (await inbox(ws.client(r)))[0] for r in ("OWNER", "ADMIN", "MANAGER")}
    newcomer = await add_member(ws.client("ADMIN"), isolated.client_for, ws.org_id, "MEMBER")
    for role in ("OWNER", "ADMIN"):
        count, nodes = await inbox(ws.client(role))
        assert count == before[role] + 1
        assert nodes[0]["kind"] == "INVITATION_ACCEPTED"
        assert nodes[0]["entityId"] == to_global_id("User", "", newcomer.sub or "")
        assert nodes[0]["orgId"] == ws.org_id
    assert (await inbox(ws.client("MANAGER")))[0] == before["MANAGER"]
    assert await inbox(newcomer) == (0, [])

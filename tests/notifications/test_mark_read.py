"""markNotificationsRead: some, all, idempotent, another user's ID, and the counter."""

from __future__ import annotations

from graphql_api.common.ids import to_global_id
from graphql_api.context import Resources
from graphql_api.store import keys
from tests.notifications.inbox import MARK, MARK_ALL, consistent, inbox
from tests.support.domain_factories import Workspace
from tests.support.graphql import GraphQLClient


async def test_mark_some_then_all_then_again(fresh: Workspace) -> None:
    ws = fresh
    member = ws.client("MEMBER")
    for _ in range(3):
        await ws.assign()
    count, nodes = await inbox(member)
    assert count == 3 == len(nodes)

    first = [nodes[0]["id"], nodes[2]["id"]]
    result = (await member.data(MARK, {"ids": first}))["markNotificationsRead"]
    assert result["unreadCount"] == 1
    assert result["id"] == to_global_id("User", "", member.sub or "")
    _, nodes = await inbox(member)
    assert [n["read"] for n in nodes] == [True, False, True]
    assert await consistent(member) == 1

    # Marking the same ones again changes nothing.
    again = (await member.data(MARK, {"ids": first}))["markNotificationsRead"]
    assert again["unreadCount"] == 1

    everything = (await member.data(MARK_ALL))["markNotificationsRead"]
    assert everything["unreadCount"] == 0
    assert all(n["read"] for n in (await inbox(member))[1])
    assert (await member.data(MARK_ALL))["markNotificationsRead"]["unreadCount"] == 0
    assert (await member.data(MARK, {"ids": None}))["markNotificationsRead"]["unreadCount"] == 0
    assert await consistent(member) == 0


async def test_another_users_notification_is_not_found(fresh: Workspace) -> None:
    ws = fresh
    await ws.assign()
    _, (theirs,) = await inbox(ws.client("MEMBER"))
    outsider = ws.client("OUTSIDER")
    assert await outsider.error_code(MARK, {"ids": [theirs["id"]]}) == "NOT_FOUND"
    # Same answer as an ID that never existed, and nothing changed for the owner.
    bogus = to_global_id("Notification", "", "2020-01-01T00:00:00+00:00#nope")
    assert await outsider.error_code(MARK, {"ids": [bogus]}) == "NOT_FOUND"
    assert await outsider.error_code(MARK, {"ids": [ws.team_id]}) == "NOT_FOUND"
    count, (still,) = await inbox(ws.client("MEMBER"))
    assert count == 1 and still["read"] is False


async def test_mark_read_needs_a_user(fresh: Workspace) -> None:
    anonymous = GraphQLClient(fresh.client("MEMBER").http, None)
    assert await anonymous.error_code(MARK_ALL) == "UNAUTHENTICATED"


async def test_short_counter_stops_at_zero(fresh: Workspace, resources: Resources) -> None:
    ws = fresh
    for _ in range(2):
        await ws.assign()
    member = ws.client("MEMBER")
    # A counter that drifted short (e.g. edited by hand) stops at 0 instead of going negative.
    await resources.store.update(
        keys.user(member.sub or ""), "SET unreadCount = :one", values={":one": 1}
    )
    assert (await member.data(MARK_ALL))["markNotificationsRead"]["unreadCount"] == 0
    assert all(n["read"] for n in (await inbox(member))[1])
    await ws.assign()
    assert await consistent(member) == 1

"""Live revocation: removing a member (on the other replica) ends that user's subscriptions in
the org at once with FORBIDDEN, and closes the socket with 4403 when nothing allowed is left;
a role change that keeps access keeps the subscription."""

from __future__ import annotations

import pytest

from graphql_api.common.ids import from_global_id, to_global_id
from tests.support.domain_factories import Workspace, create_workspace
from tests.support.factories import add_member
from tests.support.graphql import GraphQLClient
from tests.support.servers import AppCluster
from tests.support.wsclient import LEGACY_WS, TRANSPORT_WS, open_ws

pytestmark = pytest.mark.slow

RUN_UPDATED = "subscription($run: ID!) { runUpdated(runId: $run) { version } }"
PRESENCE = "subscription($e: ID!) { presence(entityId: $e) { kind } }"
NOTIFICATIONS = "subscription { notificationReceived { id } }"
REMOVE = "mutation($m: ID!) { removeMember(memberId: $m) { userId } }"
SET_ROLE = "mutation($m: ID!, $r: Role!) { updateMemberRole(memberId: $m, role: $r) { role } }"


@pytest.fixture(scope="module")
async def ws_(cluster: AppCluster) -> Workspace:
    return await create_workspace(cluster.client_factory(1))


async def newcomer(cluster: AppCluster, ws_: Workspace, role: str) -> tuple[GraphQLClient, str]:
    """A fresh member (so removing them does not disturb other tests) and their Member ID."""
    person = await add_member(ws_.client("OWNER"), cluster.client_factory(1), ws_.org_id, role)
    assert person.sub is not None
    return person, to_global_id("Member", from_global_id(ws_.org_id).org_id, person.sub)


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_removed_member_is_cut_off_and_the_socket_closes_4403(
    cluster: AppCluster, ws_: Workspace, protocol: str
) -> None:
    run = await ws_.start((await ws_.assign())["id"])
    person, member_id = await newcomer(cluster, ws_, "VIEWER")
    async with await open_ws(cluster[0].ws_url, protocol) as client:
        await client.init(person.sub)
        op_run = await client.subscribe(RUN_UPDATED, {"run": run["id"]})
        op_presence = await client.subscribe(PRESENCE, {"e": run["id"]})
        assert (await client.next_data(op_run))["runUpdated"]["version"] == 1
        assert (await client.next_data(op_presence))["presence"]["kind"] == "SNAPSHOT"
        assert (await client.next_data(op_presence))["presence"]["kind"] == "JOIN"  # itself

        await ws_.client("ADMIN").data(REMOVE, {"m": member_id})  # replica 1

        assert (await client.next_error(op_run))[0] == "FORBIDDEN"
        assert (await client.next_error(op_presence))[0] == "FORBIDDEN"
        assert (await client.closed()).code == 4403


async def test_other_allowed_subscriptions_keep_the_socket_open(
    cluster: AppCluster, ws_: Workspace
) -> None:
    run = await ws_.start((await ws_.assign())["id"])
    person, member_id = await newcomer(cluster, ws_, "MEMBER")
    async with await open_ws(cluster[0].ws_url) as client:
        await client.init(person.sub)
        op_run = await client.subscribe(RUN_UPDATED, {"run": run["id"]})
        op_notes = await client.subscribe(NOTIFICATIONS)
        await client.next_data(op_run)

        await ws_.client("OWNER").data(REMOVE, {"m": member_id})

        assert (await client.next_error(op_run))[0] == "FORBIDDEN"
        # The user-level subscription is still allowed: the socket stays and answers.
        await client.send({"type": "ping"})
        with pytest.raises(TimeoutError):
            await client.message_for(op_notes, timeout=0.5)
        assert not client.ws.close_code


async def test_role_change_that_keeps_access_keeps_the_subscription(
    cluster: AppCluster, ws_: Workspace
) -> None:
    run = await ws_.start((await ws_.assign())["id"])
    person, member_id = await newcomer(cluster, ws_, "MEMBER")
    async with await open_ws(cluster[0].ws_url) as client:
        await client.init(person.sub)
        op = await client.subscribe(RUN_UPDATED, {"run": run["id"]})
        await client.next_data(op)
        await ws_.client("ADMIN").data(SET_ROLE, {"m": member_id, "r": "VIEWER"})
        await ws_.set_item(run["id"], "c1", done=True)
        assert (await client.next_data(op))["runUpdated"]["version"] == 2


async def test_subscribing_after_removal_is_not_found(cluster: AppCluster, ws_: Workspace) -> None:
    run = await ws_.start((await ws_.assign())["id"])
    person, member_id = await newcomer(cluster, ws_, "VIEWER")
    await ws_.client("ADMIN").data(REMOVE, {"m": member_id})
    async with await open_ws(cluster[1].ws_url) as client:
        await client.init(person.sub)
        op = await client.subscribe(RUN_UPDATED, {"run": run["id"]})
        assert (await client.next_error(op))[0] == "NOT_FOUND"


async def test_operations_on_an_open_socket_see_the_current_role(
    cluster: AppCluster, ws_: Workspace
) -> None:
    # The socket outlives memberships: each operation must check roles afresh, not with
    # what was cached when the socket (or an earlier operation) started.
    person, member_id = await newcomer(cluster, ws_, "VIEWER")
    org = "query($id: ID!) { organization(id: $id) { id viewerRole } }"
    async with await open_ws(cluster[0].ws_url) as client:
        await client.init(person.sub)
        first = await client.subscribe(org, {"id": ws_.org_id})
        assert (await client.next_data(first))["organization"]["viewerRole"] == "VIEWER"
        await ws_.client("ADMIN").data(REMOVE, {"m": member_id})
        again = await client.subscribe(org, {"id": ws_.org_id})
        message = await client.message_for(again)
        assert message["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"

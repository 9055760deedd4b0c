"""The Subscription root: live runs, presence, notifications and assignments.

Each field checks access when it starts (permission classes: another tenant's object is
NOT_FOUND) and again whenever the caller's membership changes (graphql_api/subscriptions/
stream.py): a removed member or a role lowered below what the field needs ends the
subscription with FORBIDDEN.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.assignments.inputs import local_id
from graphql_api.common.node import decode_in_org
from graphql_api.context import Context
from graphql_api.notifications.types import Notification
from graphql_api.presence.types import PresenceEvent
from graphql_api.rbac.permissions import IsUser, org_role
from graphql_api.rbac.roles import Role
from graphql_api.subscriptions.assignments import assignment_events
from graphql_api.subscriptions.notifications import notification_events
from graphql_api.subscriptions.presence import presence_events
from graphql_api.subscriptions.runs import run_updates
from graphql_api.subscriptions.types import AssignmentChange, RunUpdate

# The resolvers return their generator rather than re-yielding from it: the server then
# closes the generator itself when the subscription ends, so its cleanup (presence leave,
# feed detach) runs at once instead of at garbage collection.

# The resolvers return their generator rather than re-yielding from it: the server then
# closes the generator itself when the subscription ends, so its cleanup (presence leave,
# feed detach) runs at once instead of at garbage collection.


@strawberry.type(description="Live updates over WebSockets (graphql-transport-ws or graphql-ws).")
class Subscription:
    @strawberry.subscription(
        description=(
            "Every version of a run, in order, with no gap and no duplicate, across replicas "
            "and broadcast outages (VIEWER+). With `afterVersion`: the events after it from "
            "storage, then live ones; without: a snapshot at the current version first."
        ),
        permission_classes=[IsUser, org_role(Role.VIEWER, "run_id")],
    )
    def run_updated(
        self,
        info: Info[Context, Any],
        run_id: strawberry.ID,
        after_version: int | None = None,
    ) -> AsyncGenerator[RunUpdate, None]:
        ctx = info.context
        gid = decode_in_org(ctx, run_id, "Run")
        return run_updates(ctx, gid.org_id, gid.id, after_version)

    @strawberry.subscription(
        description=(
            "Who is on an entity (e.g. a Run; VIEWER+): a SNAPSHOT first (again after any "
            "gap), then JOIN, UPDATE and LEAVE. Subscribing over a WebSocket makes this "
            "connection present until the subscription or the socket ends."
        ),
        permission_classes=[IsUser, org_role(Role.VIEWER, "entity_id")],
    )
    def presence(
        self, info: Info[Context, Any], entity_id: strawberry.ID
    ) -> AsyncGenerator[PresenceEvent, None]:
        return presence_events(info.context, entity_id)

    @strawberry.subscription(
        description="The caller's new notifications, on every open connection.",
        permission_classes=[IsUser],
    )
    def notification_received(self, info: Info[Context, Any]) -> AsyncGenerator[Notification, None]:
        return notification_events(info.context)

    @strawberry.subscription(
        description=(
            "Changes to an organization's assignments (VIEWER+), only those of `teamId` "
            "and/or given to `assigneeId` (a Member ID) when set."
        ),
        permission_classes=[IsUser, org_role(Role.VIEWER, "org_id")],
    )
    def assignment_changed(
        self,
        info: Info[Context, Any],
        org_id: strawberry.ID,
        team_id: strawberry.ID | None = None,
        assignee_id: strawberry.ID | None = None,
    ) -> AsyncGenerator[AssignmentChange, None]:
        ctx = info.context
        org = decode_in_org(ctx, org_id, "Organization").org_id
        team = local_id(ctx, team_id, "Team", org) if team_id else None
        assignee = local_id(ctx, assignee_id, "Member", org) if assignee_id else None
        return assignment_events(ctx, org, team, assignee)

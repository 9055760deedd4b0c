"""The presence mutation (the presence subscription is in graphql_api/subscriptions)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.context import Context
from graphql_api.presence import service
from graphql_api.presence.inputs import UpdatePresenceInput
from graphql_api.presence.types import PresenceEntry
from graphql_api.rbac.permissions import IsUser, org_role
from graphql_api.rbac.roles import Role
from graphql_api.subscriptions.connection import connection_of


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description=(
            "Set this connection's cursor, focused item and status on an entity (VIEWER+). "
            "Send it over the WebSocket whose presence it is: the entry lives as long as that "
            "connection (one entry per connection, so two devices show twice)."
        ),
        permission_classes=[IsUser, org_role(Role.VIEWER, "input.entity_id")],
    )
    async def update_presence(
        self, info: Info[Context, Any], input: UpdatePresenceInput
    ) -> PresenceEntry:
        ctx = info.context
        entry = await service.update_presence(ctx, connection_of(ctx), input)
        return PresenceEntry.from_dict(entry)

"""markNotificationsRead, with its access rule (the caller's own notifications only)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.context import Context
from graphql_api.notifications import reading
from graphql_api.rbac.permissions import IsUser
from graphql_api.store import keys
from graphql_api.users.service import ensure_user
from graphql_api.users.types import User


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description=(
            "Mark your notifications read: the given ones (global IDs of Notification; "
            "another user's is NOT_FOUND), or every unread one (at most 500 per call) when "
            "`ids` is omitted. Returns you, with the new unreadCount."
        ),
        permission_classes=[IsUser],
    )
    async def mark_notifications_read(
        self, info: Info[Context, Any], ids: list[strawberry.ID] | None = None
    ) -> User:
        ctx = info.context
        user = await ensure_user(ctx)
        await reading.mark_read(ctx, user["id"], None if ids is None else [str(i) for i in ids])
        fresh = await ctx.store.get(keys.user(user["id"]), consistent=True)
        return User.from_item(fresh or user)

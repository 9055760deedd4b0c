"""The `me` query."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.common.ids import GlobalId
from graphql_api.common.node import register_node
from graphql_api.context import Context
from graphql_api.rbac.permissions import IsUser
from graphql_api.users.service import ensure_user
from graphql_api.users.types import User


@strawberry.type
class Query:
    @strawberry.field(
        description="The signed-in user (created on first sight from the token's claims).",
        permission_classes=[IsUser],
    )
    async def me(self, info: Info[Context, Any]) -> User:
        return User.from_item(await ensure_user(info.context))


async def _user_node(ctx: Context, gid: GlobalId) -> User | None:
    # Only the caller's own profile is reachable by ID.
    if gid.id != ctx.user_id:
        return None
    return User.from_item(await ensure_user(ctx))


register_node("User", _user_node)

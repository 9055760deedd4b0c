"""API key mutations (ADMIN+), with their access rules. Listing: Organization.apiKeys."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.apikeys import repository as repo
from graphql_api.apikeys import service
from graphql_api.apikeys.inputs import CreateApiKeyInput
from graphql_api.apikeys.types import ApiKey, CreateApiKeyPayload
from graphql_api.common.ids import GlobalId
from graphql_api.common.node import decode_in_org, register_node
from graphql_api.context import Context
from graphql_api.rbac.permissions import IsUser, org_role
from graphql_api.rbac.roles import Role


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description=(
            "Create a partner API key (ADMIN+). Its secret is returned once; only a hash is "
            "kept. The key acts with `role` (at most MANAGER) and runs only the operations of "
            "the named persisted query manifest."
        ),
        permission_classes=[IsUser, org_role(Role.ADMIN, "input.org_id")],
    )
    async def create_api_key(
        self, info: Info[Context, Any], input: CreateApiKeyInput
    ) -> CreateApiKeyPayload:
        gid = decode_in_org(info.context, input.org_id, "Organization")
        item, secret = await service.create_api_key(
            info.context, gid.org_id, input.name, input.role, input.manifest
        )
        return CreateApiKeyPayload(api_key=ApiKey.from_item(item), secret=secret)

    @strawberry.mutation(
        description="Revoke an API key at once (ADMIN+).",
        permission_classes=[IsUser, org_role(Role.ADMIN, "id")],
    )
    async def revoke_api_key(self, info: Info[Context, Any], id: strawberry.ID) -> ApiKey:
        gid = decode_in_org(info.context, id, "ApiKey")
        return ApiKey.from_item(await service.revoke_api_key(info.context, gid.org_id, gid.id))


async def _api_key_node(ctx: Context, gid: GlobalId) -> ApiKey | None:
    if not await ctx.has_role(gid.org_id, Role.ADMIN):
        return None
    item = await repo.get_key(ctx, gid.org_id, gid.id)
    return ApiKey.from_item(item) if item else None


register_node("ApiKey", _api_key_node)

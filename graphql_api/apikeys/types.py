"""GraphQL types of partner API keys."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from graphql_api.apikeys import repository as repo
from graphql_api.auth.service import API_KEY_PREFIX
from graphql_api.common.ids import to_global_id
from graphql_api.common.types import Connection, Node, connection
from graphql_api.context import Context
from graphql_api.rbac.roles import Role
from graphql_api.store.codec import Item
from graphql_api.store.pagination import page_size


@strawberry.enum(description="Whether an API key still authenticates.")
class ApiKeyStatus(Enum):
    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@strawberry.type(
    description=(
        "A partner API key: acts in one organization with a fixed role (at most MANAGER) "
        "and runs only the operations of its persisted query manifest."
    )
)
class ApiKey(Node):
    org_id: strawberry.Private[str]
    name: str = strawberry.field(description="What the key is for.")
    role: Role = strawberry.field(description="The role the key acts with.")
    manifest: str = strawberry.field(
        description="Client name of the persisted query manifest whose operations it may run."
    )
    prefix: str = strawberry.field(
        description="The secret's public start (gqa_<prefix>_...), to recognise a key."
    )
    status: ApiKeyStatus = strawberry.field(description="ACTIVE or REVOKED.")
    created_at: datetime = strawberry.field(description="When it was created.")
    created_by: str = strawberry.field(description="User ID of its creator.")
    last_used_at: datetime | None = strawberry.field(
        description="Last authenticated request (recorded at most once a minute)."
    )
    revoked_at: datetime | None = strawberry.field(description="When it was revoked.")

    @classmethod
    def from_item(cls, item: Item) -> ApiKey:
        return cls(
            id=strawberry.ID(to_global_id("ApiKey", item["orgId"], item["id"])),
            org_id=item["orgId"],
            name=item["name"],
            role=Role(item["role"]),
            manifest=item["clientName"],
            prefix=f"{API_KEY_PREFIX}_{item['id']}",
            status=ApiKeyStatus(item["status"]),
            created_at=datetime.fromisoformat(item["createdAt"]),
            created_by=item["createdBy"],
            last_used_at=_dt(item.get("lastUsedAt")),
            revoked_at=_dt(item.get("revokedAt")),
        )


@strawberry.type(description="A new API key and its secret.")
class CreateApiKeyPayload:
    api_key: ApiKey = strawberry.field(description="The key.")
    secret: str = strawberry.field(
        description="Send as `Authorization: ApiKey <secret>`. Shown only now; never stored."
    )


async def api_keys_connection(
    ctx: Context, org_id: str, first: int | None, after: str | None
) -> Connection[ApiKey]:
    """An organization's API keys in ID order (the caller checked ADMIN+)."""
    size = page_size(first)
    scope = f"{org_id}:apiKeys"
    start = ctx.cursors.decode(after, scope) if after else None
    page = await repo.page_keys(ctx, org_id, size + 1, start)
    return connection(page, size, ApiKey.from_item, ctx.cursors, scope)

"""GraphQL types of persisted-query manifests."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.common.types import Connection, connection
from graphql_api.context import Context
from graphql_api.persisted import repository as repo
from graphql_api.store.codec import Item
from graphql_api.store.pagination import page_size


@strawberry.enum(description="The kind of a persisted operation.", name="PersistedOperationType")
class OperationKind(Enum):
    QUERY = "query"
    MUTATION = "mutation"
    SUBSCRIPTION = "subscription"


@strawberry.type(description="One operation of a persisted query manifest.")
class PersistedOperation:
    id: str = strawberry.field(
        description="SHA-256 of the body: what requests send as the persisted query id."
    )
    name: str = strawberry.field(description="Operation name.")
    type: OperationKind = strawberry.field(description="query, mutation or subscription.")
    body: str = strawberry.field(description="The operation's text.")

    @classmethod
    def from_item(cls, item: Item) -> PersistedOperation:
        return cls(
            id=item["id"], name=item["name"], type=OperationKind(item["type"]), body=item["body"]
        )


@strawberry.type(
    description=(
        "A client's persisted query manifest (Apollo's format): the operations its API keys "
        "may run. Registering it again replaces it."
    )
)
class PersistedQueryManifest:
    org_id: strawberry.Private[str]
    manifest_id: strawberry.Private[str]
    client_name: str = strawberry.field(description="The client (partner app) it belongs to.")
    version: int = strawberry.field(description="1 for the first registration, then +1.")
    operation_count: int = strawberry.field(description="Number of operations.")
    registered_at: datetime = strawberry.field(description="When this version was registered.")
    registered_by: str = strawberry.field(description="User ID of who registered it.")

    @classmethod
    def from_item(cls, item: Item) -> PersistedQueryManifest:
        return cls(
            org_id=item["orgId"],
            manifest_id=item["manifestId"],
            client_name=item["clientName"],
            version=item["version"],
            operation_count=item["operationCount"],
            registered_at=datetime.fromisoformat(item["registeredAt"]),
            registered_by=item["registeredBy"],
        )

    @strawberry.field(description="The manifest's operations, in id order.")
    async def operations(
        self, info: Info[Context, Any], first: int | None = None, after: str | None = None
    ) -> Connection[PersistedOperation]:
        ctx = info.context
        size = page_size(first)
        scope = f"{self.org_id}:pq:{self.client_name}:{self.manifest_id}"
        start = ctx.cursors.decode(after, scope) if after else None
        page = await repo.page_operations(
            ctx, self.org_id, self.client_name, self.manifest_id, size + 1, start
        )
        return connection(page, size, PersistedOperation.from_item, ctx.cursors, scope)

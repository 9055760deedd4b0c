"""GraphQL types of the audit log."""

from __future__ import annotations

import strawberry

from graphql_api.common.types import JSON
from graphql_api.store.codec import Item


@strawberry.type(description="One audited change: who did what to which object, and when.")
class AuditEntry:
    id: strawberry.ID = strawberry.field(description="Entry ID.")
    action: str = strawberry.field(description="What happened, e.g. `member.role_updated`.")
    entity_type: str = strawberry.field(description="Type of the changed object.")
    entity_id: str = strawberry.field(description="ID of the changed object.")
    actor_id: str = strawberry.field(description="User (or API key) that made the change.")
    actor_kind: str = strawberry.field(description="`user` or `api_key`.")
    at: str = strawberry.field(description="When (ISO 8601, UTC).")
    details: JSON = strawberry.field(description="Change details (before/after values).")

    @classmethod
    def from_item(cls, item: Item) -> AuditEntry:
        return cls(
            id=strawberry.ID(item["id"]),
            action=item["action"],
            entity_type=item["entityType"],
            entity_id=item["entityId"],
            actor_id=item["actorId"],
            actor_kind=item.get("actorKind", "user"),
            at=item["at"],
            details=item.get("details", {}),
        )

"""Inputs of the presence mutation."""

from __future__ import annotations

import strawberry

from graphql_api.presence.types import PresenceStatus


@strawberry.input(description="A pointer position on the shared view.")
class CursorInput:
    x: float = strawberry.field(description="Horizontal position (client units).")
    y: float = strawberry.field(description="Vertical position (client units).")
    element_id: str | None = strawberry.field(
        default=None, description="The element the cursor is over (at most 200 characters)."
    )


@strawberry.input(
    description="This connection's presence on an entity; omitted fields keep their value."
)
class UpdatePresenceInput:
    entity_id: strawberry.ID = strawberry.field(description="The entity (e.g. a Run's ID).")
    cursor: CursorInput | None = strawberry.field(
        default=strawberry.UNSET, description="Pointer position; null hides it."
    )
    focused_item_id: str | None = strawberry.field(
        default=strawberry.UNSET, description="The item being worked on; null for none."
    )
    status: PresenceStatus | None = strawberry.field(
        default=strawberry.UNSET, description="Active, idle or away."
    )

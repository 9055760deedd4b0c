"""GraphQL types of presence."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from graphql_api.common.time import parse_iso


@strawberry.enum(description="What a present person is doing.")
class PresenceStatus(Enum):
    ACTIVE = "ACTIVE"
    IDLE = "IDLE"
    AWAY = "AWAY"


@strawberry.enum(description="What a presence event says.")
class PresenceEventKind(Enum):
    SNAPSHOT = "SNAPSHOT"
    JOIN = "JOIN"
    UPDATE = "UPDATE"
    LEAVE = "LEAVE"


@strawberry.type(description="A pointer position on the shared view.")
class PresenceCursor:
    x: float = strawberry.field(description="Horizontal position (client units).")
    y: float = strawberry.field(description="Vertical position (client units).")
    element_id: str | None = strawberry.field(description="The element the cursor is over.")


@strawberry.type(description="One connection present on an entity (one person may have several).")
class PresenceEntry:
    connection_id: strawberry.ID = strawberry.field(
        description="The WebSocket connection this entry belongs to (its key)."
    )
    user_id: str = strawberry.field(description="Who (token `sub`).")
    name: str | None = strawberry.field(description="Display name.")
    status: PresenceStatus = strawberry.field(description="Active, idle or away.")
    cursor: PresenceCursor | None = strawberry.field(description="Pointer, when shared.")
    focused_item_id: str | None = strawberry.field(description="The item they are on.")
    updated_at: datetime = strawberry.field(description="When this entry last changed.")

    @classmethod
    def from_dict(cls, entry: dict[str, Any]) -> PresenceEntry:
        cursor = entry.get("cursor")
        return cls(
            connection_id=strawberry.ID(str(entry.get("connectionId", ""))),
            user_id=str(entry.get("userId", "")),
            name=entry.get("name"),
            status=PresenceStatus(entry.get("status") or PresenceStatus.ACTIVE.value),
            cursor=(
                PresenceCursor(
                    x=float(cursor["x"]), y=float(cursor["y"]), element_id=cursor.get("elementId")
                )
                if isinstance(cursor, dict)
                else None
            ),
            focused_item_id=entry.get("focusedItemId"),
            updated_at=parse_iso(str(entry["updatedAt"])),
        )


@strawberry.type(description="A presence change on an entity; SNAPSHOT comes first.")
class PresenceEvent:
    kind: PresenceEventKind = strawberry.field(description="What happened.")
    entity_id: strawberry.ID = strawberry.field(description="The entity (global ID).")
    entry: PresenceEntry | None = strawberry.field(
        description="Who joined, changed or left (null for SNAPSHOT)."
    )
    entries: list[PresenceEntry] | None = strawberry.field(
        description="SNAPSHOT only: everyone present now (a repeat replaces the list)."
    )

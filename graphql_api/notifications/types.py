"""GraphQL types of notifications (seen through `me`)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from graphql_api.common.ids import to_global_id
from graphql_api.common.types import Connection, Node, connection
from graphql_api.context import Context
from graphql_api.notifications import service
from graphql_api.store.codec import Item
from graphql_api.store.pagination import page_size


@strawberry.enum(description="Why a notification was sent.")
class NotificationKind(Enum):
    MENTION = "MENTION"
    ASSIGNED = "ASSIGNED"
    RUN_SUBMITTED = "RUN_SUBMITTED"
    RUN_REOPENED = "RUN_REOPENED"
    INVITATION_ACCEPTED = "INVITATION_ACCEPTED"


@strawberry.type(description="Something that happened to or for the signed-in user.")
class Notification(Node):
    kind: NotificationKind = strawberry.field(description="Why it was sent.")
    title: str = strawberry.field(description="One-line summary.")
    body: str = strawberry.field(description="Details (e.g. the comment's text).")
    entity_id: strawberry.ID = strawberry.field(
        description="Global ID of the object it is about (e.g. the Run)."
    )
    org_id: strawberry.ID = strawberry.field(description="Global ID of the organization.")
    read: bool = strawberry.field(description="True once marked read.")
    created_at: datetime = strawberry.field(description="When it was sent.")

    @classmethod
    def from_item(cls, item: Item) -> Notification:
        # The sort key (time and id) is the local ID: it locates the item in the user's list.
        local = item["sk"].removeprefix("NOTIF#")
        return cls(
            id=strawberry.ID(to_global_id("Notification", "", local)),
            kind=NotificationKind(item["kind"]),
            title=item["title"],
            body=item.get("body", ""),
            entity_id=strawberry.ID(item["entityId"]),
            org_id=strawberry.ID(to_global_id("Organization", item["orgId"], item["orgId"])),
            read=bool(item.get("read", False)),
            created_at=datetime.fromisoformat(item["createdAt"]),
        )


async def notifications_connection(
    ctx: Context, user_id: str, first: int | None, after: str | None
) -> Connection[Notification]:
    """The user's notifications, newest first (User.notifications)."""
    size = page_size(first)
    scope = f"user:{user_id}:notifications"
    start = ctx.cursors.decode(after, scope) if after else None
    page = await service.page(ctx, user_id, size + 1, start)
    return connection(page, size, Notification.from_item, ctx.cursors, scope)

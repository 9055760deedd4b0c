"""The signed-in user as seen through `me`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.assignments.schema import my_assignments
from graphql_api.assignments.types import Assignment, AssignmentStatus
from graphql_api.common.ids import to_global_id
from graphql_api.common.types import Connection, Node
from graphql_api.context import Context
from graphql_api.notifications.types import Notification, notifications_connection
from graphql_api.orgs import repository as org_repo
from graphql_api.orgs.types import Membership
from graphql_api.store.codec import Item


@strawberry.type(description="A person using the API (identity from the token).")
class User(Node):
    user_id: str = strawberry.field(description="The token's `sub`.")
    email: str | None = strawberry.field(description="Email from the token.")
    name: str | None = strawberry.field(description="Display name from the token.")
    created_at: datetime = strawberry.field(description="First seen.")
    unread_count: int = strawberry.field(description="Notifications not read yet.")

    @classmethod
    def from_item(cls, item: Item) -> User:
        return cls(
            id=strawberry.ID(to_global_id("User", "", item["id"])),
            user_id=item["id"],
            email=item.get("email"),
            name=item.get("name"),
            created_at=datetime.fromisoformat(item["createdAt"]),
            unread_count=int(item.get("unreadCount", 0)),
        )

    @strawberry.field(description="Organizations the user belongs to, with roles.")
    async def memberships(self, info: Info[Context, Any]) -> list[Membership]:
        items = await org_repo.memberships_of(info.context, self.user_id)
        return [Membership.from_item(i) for i in items]

    @strawberry.field(
        description=(
            "Assignments given to you directly, by due time, across your organizations "
            "(a team's are under Organization.assignments(teamId)); `teamId` keeps those "
            "also given to that team."
        )
    )
    async def assignments(
        self,
        info: Info[Context, Any],
        status: AssignmentStatus | None = None,
        team_id: strawberry.ID | None = None,
        due_after: datetime | None = None,
        due_before: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Assignment]:
        return await my_assignments(
            info.context, self.user_id, status, team_id, due_after, due_before, first, after
        )

    @strawberry.field(description="Your notifications, newest first.")
    async def notifications(
        self, info: Info[Context, Any], first: int | None = None, after: str | None = None
    ) -> Connection[Notification]:
        return await notifications_connection(info.context, self.user_id, first, after)

"""GraphQL types of teams and team members."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.common.ids import to_global_id
from graphql_api.common.types import Connection, Node, connection
from graphql_api.context import Context
from graphql_api.store.codec import Item
from graphql_api.store.pagination import page_size
from graphql_api.teams import repository as repo


@strawberry.enum(description="A person's role in a team.")
class TeamRole(Enum):
    LEAD = "LEAD"
    MEMBER = "MEMBER"


@strawberry.type(description="A person on a team.")
class TeamMember:
    org_id: strawberry.Private[str]
    team_id: strawberry.Private[str]
    user_id: str = strawberry.field(description="The person's user ID (token `sub`).")
    name: str | None = strawberry.field(description="Display name when they were added.")
    role: TeamRole = strawberry.field(description="LEAD or MEMBER.")
    added_at: datetime = strawberry.field(description="When they joined the team.")

    @strawberry.field(description="Global ID of their organization membership (Member).")
    def member_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Member", self.org_id, self.user_id))

    @strawberry.field(description="The team.")
    async def team(self, info: Info[Context, Any]) -> Team | None:
        item = await repo.get_team(info.context, self.org_id, self.team_id)
        return Team.from_item(item) if item else None

    @classmethod
    def from_item(cls, item: Item) -> TeamMember:
        return cls(
            org_id=item["orgId"],
            team_id=item["teamId"],
            user_id=item["userId"],
            name=item.get("name"),
            role=TeamRole(item["role"]),
            added_at=datetime.fromisoformat(item["addedAt"]),
        )


@strawberry.type(description="A group of organization members that work is assigned to.")
class Team(Node):
    org_id: strawberry.Private[str]
    team_id: strawberry.Private[str]
    name: str = strawberry.field(description="Display name.")
    description: str | None = strawberry.field(description="What the team does.")
    member_count: int = strawberry.field(description="How many people are on the team.")
    version: int = strawberry.field(description="Optimistic-concurrency version (updateTeam).")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_item(cls, item: Item) -> Team:
        return cls(
            id=strawberry.ID(to_global_id("Team", item["orgId"], item["id"])),
            org_id=item["orgId"],
            team_id=item["id"],
            name=item["name"],
            description=item.get("description") or None,
            member_count=item.get("memberCount", 0),
            version=item.get("version", 1),
            created_at=datetime.fromisoformat(item["createdAt"]),
            updated_at=datetime.fromisoformat(item["updatedAt"]),
        )

    @strawberry.field(description="Members of the team, in user-ID order.")
    async def members(
        self, info: Info[Context, Any], first: int | None = None, after: str | None = None
    ) -> Connection[TeamMember]:
        ctx = info.context
        size = page_size(first)
        scope = f"{self.org_id}:team:{self.team_id}:members"
        start = ctx.cursors.decode(after, scope) if after else None
        page = await repo.page_team_members(ctx, self.org_id, self.team_id, size + 1, start)
        return connection(page, size, TeamMember.from_item, ctx.cursors, scope)


async def teams_connection(
    ctx: Context, org_id: str, first: int | None, after: str | None
) -> Connection[Team]:
    """An organization's teams, in ID order (Organization.teams)."""
    size = page_size(first)
    scope = f"{org_id}:teams"
    start = ctx.cursors.decode(after, scope) if after else None
    page = await repo.page_teams(ctx, org_id, size + 1, start)
    return connection(page, size, Team.from_item, ctx.cursors, scope)

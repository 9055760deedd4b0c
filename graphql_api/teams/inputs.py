"""Inputs of the team mutations."""

from __future__ import annotations

import strawberry

from graphql_api.teams.types import TeamRole


@strawberry.input(description="A new team (MANAGER+).")
class CreateTeamInput:
    org_id: strawberry.ID = strawberry.field(description="The organization.")
    name: str = strawberry.field(description="Display name (1-100 characters).")
    description: str | None = strawberry.field(
        default=None, description="What the team does (at most 1000 characters)."
    )


@strawberry.input(description="Changes to a team (MANAGER+).")
class UpdateTeamInput:
    id: strawberry.ID = strawberry.field(description="The team.")
    name: str | None = strawberry.field(default=None, description="New name.")
    description: str | None = strawberry.field(
        default=None, description="New description (empty string clears it)."
    )
    expected_version: int | None = strawberry.field(
        default=None,
        description="The version you edited; a stale one is CONFLICT with `currentVersion`.",
    )


@strawberry.input(
    description=(
        "Put an organization member on a team, or change their team role. MANAGER+ on any "
        "team; a team LEAD adds plain MEMBERs to their own team."
    )
)
class AddTeamMemberInput:
    team_id: strawberry.ID = strawberry.field(description="The team.")
    member_id: strawberry.ID = strawberry.field(
        description="The person's organization membership (Member ID)."
    )
    role: TeamRole = strawberry.field(default=TeamRole.MEMBER, description="Role in the team.")

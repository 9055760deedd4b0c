"""Team queries and mutations, with their access rules."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.common.ids import GlobalId
from graphql_api.common.node import decode_in_org, register_node
from graphql_api.context import Context
from graphql_api.errors import not_found
from graphql_api.rbac.permissions import IsAuthenticated, org_role
from graphql_api.rbac.roles import Role
from graphql_api.teams import repository as repo
from graphql_api.teams import service
from graphql_api.teams.inputs import AddTeamMemberInput, CreateTeamInput, UpdateTeamInput
from graphql_api.teams.types import Team, TeamMember


def _member_uid(ctx: Context, member_id: str, org_id: str) -> str:
    """The user behind a Member ID of the same organization (others are NOT_FOUND)."""
    gid = decode_in_org(ctx, member_id, "Member")
    if gid.org_id != org_id:
        raise not_found("Member")
    return gid.id


@strawberry.type
class Query:
    @strawberry.field(
        description="A team of an organization the caller belongs to (others are NOT_FOUND).",
        permission_classes=[org_role(Role.VIEWER, "id")],
    )
    async def team(self, info: Info[Context, Any], id: strawberry.ID) -> Team:
        gid = decode_in_org(info.context, id, "Team")
        return Team.from_item(await service.require_team(info.context, gid.org_id, gid.id))


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create a team (MANAGER+).",
        permission_classes=[IsAuthenticated, org_role(Role.MANAGER, "input.org_id")],
    )
    async def create_team(self, info: Info[Context, Any], input: CreateTeamInput) -> Team:
        gid = decode_in_org(info.context, input.org_id, "Organization")
        item = await service.create_team(info.context, gid.org_id, input.name, input.description)
        return Team.from_item(item)

    @strawberry.mutation(
        description="Rename or describe a team (MANAGER+).",
        permission_classes=[IsAuthenticated, org_role(Role.MANAGER, "input.id")],
    )
    async def update_team(self, info: Info[Context, Any], input: UpdateTeamInput) -> Team:
        gid = decode_in_org(info.context, input.id, "Team")
        item = await service.update_team(
            info.context,
            gid.org_id,
            gid.id,
            input.name,
            input.description,
            input.expected_version,
        )
        return Team.from_item(item)

    @strawberry.mutation(
        description="Delete a team and its memberships (MANAGER+). Returns the deleted team.",
        permission_classes=[IsAuthenticated, org_role(Role.MANAGER, "id")],
    )
    async def delete_team(self, info: Info[Context, Any], id: strawberry.ID) -> Team:
        gid = decode_in_org(info.context, id, "Team")
        return Team.from_item(await service.delete_team(info.context, gid.org_id, gid.id))

    @strawberry.mutation(
        description=(
            "Put an organization member on a team or change their team role (MANAGER+; a "
            "team LEAD adds plain MEMBERs to their own team)."
        ),
        permission_classes=[IsAuthenticated, org_role(Role.MEMBER, "input.team_id")],
    )
    async def add_team_member(
        self, info: Info[Context, Any], input: AddTeamMemberInput
    ) -> TeamMember:
        ctx = info.context
        gid = decode_in_org(ctx, input.team_id, "Team")
        uid = _member_uid(ctx, input.member_id, gid.org_id)
        item = await service.add_team_member(ctx, gid.org_id, gid.id, uid, input.role.value)
        return TeamMember.from_item(item)

    @strawberry.mutation(
        description=(
            "Take a person off a team (MANAGER+; a team LEAD removes plain MEMBERs of their "
            "own team; anyone may leave). Returns the removed team member."
        ),
        permission_classes=[IsAuthenticated, org_role(Role.MEMBER, "team_id")],
    )
    async def remove_team_member(
        self, info: Info[Context, Any], team_id: strawberry.ID, member_id: strawberry.ID
    ) -> TeamMember:
        ctx = info.context
        gid = decode_in_org(ctx, team_id, "Team")
        uid = _member_uid(ctx, member_id, gid.org_id)
        item = await service.remove_team_member(ctx, gid.org_id, gid.id, uid)
        return TeamMember.from_item(item)


async def _team_node(ctx: Context, gid: GlobalId) -> Team | None:
    item = await repo.get_team(ctx, gid.org_id, gid.id)
    return Team.from_item(item) if item else None


register_node("Team", _team_node)

"""Assignment queries and mutations, with their access rules (reads VIEWER+, writes MANAGER+)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.assignments import repository as repo
from graphql_api.assignments import service, types
from graphql_api.assignments.inputs import (
    CreateAssignmentInput,
    UpdateAssignmentInput,
    filters,
    local_id,
    member_ids,
    utc_iso,
)
from graphql_api.assignments.types import Assignment, AssignmentStatus
from graphql_api.common.ids import GlobalId
from graphql_api.common.node import decode_in_org, register_node
from graphql_api.common.types import Connection
from graphql_api.context import Context
from graphql_api.rbac.permissions import IsAuthenticated, org_role
from graphql_api.rbac.roles import Role


@strawberry.type
class Query:
    @strawberry.field(
        description="An assignment of an organization the caller belongs to (others: NOT_FOUND).",
        permission_classes=[IsAuthenticated, org_role(Role.VIEWER, "id")],
    )
    async def assignment(self, info: Info[Context, Any], id: strawberry.ID) -> Assignment:
        gid = decode_in_org(info.context, id, "Assignment")
        return Assignment.from_item(
            await service.require_assignment(info.context, gid.org_id, gid.id)
        )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description=(
            "Give the latest published version of a checklist to members and/or a team, due "
            "at a time (MANAGER+)."
        ),
        permission_classes=[IsAuthenticated, org_role(Role.MANAGER, "input.checklist_id")],
    )
    async def create_assignment(
        self, info: Info[Context, Any], input: CreateAssignmentInput
    ) -> Assignment:
        ctx = info.context
        gid = decode_in_org(ctx, input.checklist_id, "Checklist")
        org_id = gid.org_id
        item = await service.create_assignment(
            ctx,
            org_id,
            gid.id,
            member_ids(ctx, input.assignee_ids, org_id),
            local_id(ctx, input.team_id, "Team", org_id) if input.team_id else None,
            utc_iso(input.due_at),
            input.priority.value,
            input.notes,
        )
        return Assignment.from_item(item)

    @strawberry.mutation(
        description=(
            "Change assignees, team, due time, priority or notes of an open assignment "
            "(MANAGER+). A stale `expectedVersion` is CONFLICT with `currentVersion`."
        ),
        permission_classes=[IsAuthenticated, org_role(Role.MANAGER, "input.id")],
    )
    async def update_assignment(
        self, info: Info[Context, Any], input: UpdateAssignmentInput
    ) -> Assignment:
        ctx = info.context
        gid = decode_in_org(ctx, input.id, "Assignment")
        org_id = gid.org_id
        changes = service.AssignmentChanges(
            assignee_ids=(
                member_ids(ctx, input.assignee_ids, org_id)
                if input.assignee_ids is not None
                else None
            ),
            team_id=local_id(ctx, input.team_id, "Team", org_id) if input.team_id else None,
            clear_team=input.clear_team,
            due_at=utc_iso(input.due_at) if input.due_at else None,
            priority=input.priority.value if input.priority else None,
            notes=input.notes,
        )
        item = await service.update_assignment(ctx, org_id, gid.id, input.expected_version, changes)
        return Assignment.from_item(item)

    @strawberry.mutation(
        description=(
            "Cancel an open assignment (MANAGER+); cancelling twice is a no-op. A stale "
            "`expectedVersion` is CONFLICT with `currentVersion`."
        ),
        permission_classes=[IsAuthenticated, org_role(Role.MANAGER, "id")],
    )
    async def cancel_assignment(
        self,
        info: Info[Context, Any],
        id: strawberry.ID,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> Assignment:
        gid = decode_in_org(info.context, id, "Assignment")
        item = await service.cancel_assignment(
            info.context, gid.org_id, gid.id, note, expected_version
        )
        return Assignment.from_item(item)


async def _assignment_node(ctx: Context, gid: GlobalId) -> Assignment | None:
    item = await repo.get(ctx, gid.org_id, gid.id)
    return Assignment.from_item(item) if item else None


register_node("Assignment", _assignment_node)


async def org_assignments(
    ctx: Context,
    org_id: str,
    status: AssignmentStatus | None,
    assignee_id: strawberry.ID | None,
    team_id: strawberry.ID | None,
    due_after: datetime | None,
    due_before: datetime | None,
    first: int | None,
    after: str | None,
) -> Connection[Assignment]:
    """Resolver body of Organization.assignments."""
    flt = await filters(ctx, org_id, status, assignee_id, team_id, due_after, due_before)
    return await types.org_assignments(ctx, org_id, flt, first, after)


async def my_assignments(
    ctx: Context,
    user_id: str,
    status: AssignmentStatus | None,
    team_id: strawberry.ID | None,
    due_after: datetime | None,
    due_before: datetime | None,
    first: int | None,
    after: str | None,
) -> Connection[Assignment]:
    """Resolver body of User.assignments (the caller's own)."""
    flt = await filters(ctx, None, status, None, team_id, due_after, due_before)
    return await types.my_assignments(ctx, user_id, flt, first, after)

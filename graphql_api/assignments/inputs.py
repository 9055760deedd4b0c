"""Inputs of the assignment mutations, and decoding of their global IDs."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from graphql_api.assignments.lists import Filters
from graphql_api.assignments.types import AssignmentPriority, AssignmentStatus
from graphql_api.common.node import decode_in_org
from graphql_api.common.time import iso
from graphql_api.context import Context
from graphql_api.errors import not_found
from graphql_api.store import keys


@strawberry.input(description="New work on the latest published version of a checklist.")
class CreateAssignmentInput:
    checklist_id: strawberry.ID = strawberry.field(description="A published checklist.")
    assignee_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="Members (Member IDs) to give it to, at most 25; and/or a team.",
    )
    team_id: strawberry.ID | None = strawberry.field(
        default=None, description="A team to give it to; and/or assignees."
    )
    due_at: datetime = strawberry.field(
        description="When it is due (UTC when no offset is given); past it, it is OVERDUE."
    )
    priority: AssignmentPriority = strawberry.field(
        default=AssignmentPriority.MEDIUM, description="How urgent it is."
    )
    notes: str | None = strawberry.field(
        default=None, description="Instructions (at most 2000 characters)."
    )


@strawberry.input(description="Changes to an open assignment (null leaves a field as is).")
class UpdateAssignmentInput:
    id: strawberry.ID = strawberry.field(description="The assignment.")
    expected_version: int | None = strawberry.field(
        default=None,
        description="The version you edited; a stale one is CONFLICT with `currentVersion`.",
    )
    assignee_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="The new complete list of assignees (Member IDs)."
    )
    team_id: strawberry.ID | None = strawberry.field(default=None, description="A new team.")
    clear_team: bool = strawberry.field(default=False, description="Take the team off.")
    due_at: datetime | None = strawberry.field(default=None, description="A new due time.")
    priority: AssignmentPriority | None = strawberry.field(
        default=None, description="A new priority."
    )
    notes: str | None = strawberry.field(
        default=None, description="New notes (empty string clears them)."
    )


def utc_iso(value: datetime) -> str:
    """Times without an offset are UTC (never the server's local time)."""
    return iso(value if value.tzinfo else value.replace(tzinfo=UTC))


def local_id(ctx: Context, value: str, type_name: str, org_id: str) -> str:
    """The local ID of a global ID of `type_name` in `org_id`; anything else is NOT_FOUND."""
    gid = decode_in_org(ctx, value, type_name)
    if gid.org_id != org_id:
        raise not_found(type_name)
    return gid.id


def member_ids(ctx: Context, values: list[strawberry.ID], org_id: str) -> list[str]:
    return [local_id(ctx, v, "Member", org_id) for v in values]


async def filters(
    ctx: Context,
    org_id: str | None,
    status: AssignmentStatus | None,
    assignee_id: strawberry.ID | None,
    team_id: strawberry.ID | None,
    due_after: datetime | None,
    due_before: datetime | None,
) -> Filters:
    """List filters with their IDs decoded and checked against the organization (`org_id`
    None: the caller's own list, where a team filter must be in an org they belong to).

    A filter naming nothing is NOT_FOUND, exactly like another tenant's ID (not an empty page).
    """
    team: str | None = None
    if team_id is not None:
        gid = decode_in_org(ctx, team_id, "Team")
        if org_id is not None and gid.org_id != org_id:
            raise not_found("Team")
        if org_id is None and await ctx.role_in(gid.org_id) is None:
            raise not_found("Team")
        if await ctx.load(keys.team(gid.org_id, gid.id)) is None:
            raise not_found("Team")
        team = gid.id
    assignee: str | None = None
    if assignee_id is not None:
        assignee = local_id(ctx, assignee_id, "Member", org_id or "")
        if await ctx.load(keys.member(org_id or "", assignee)) is None:
            raise not_found("Member")
    return Filters(
        status=status.value if status else None,
        assignee_id=assignee,
        team_id=team,
        due_after=utc_iso(due_after) if due_after else None,
        due_before=utc_iso(due_before) if due_before else None,
    )

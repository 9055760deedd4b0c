"""assignmentChanged(orgId, teamId, assigneeId): changes to an org's assignments, filtered on
the server by team and assignee; every subscriber sees the assignment as it is now."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from graphql_api.assignments import service as assignments
from graphql_api.assignments.types import Assignment
from graphql_api.context import Context
from graphql_api.errors import AppError
from graphql_api.realtime import channels
from graphql_api.subscriptions.stream import StreamClosed, open_stream
from graphql_api.subscriptions.types import AssignmentChange


async def assignment_events(
    ctx: Context, org_id: str, team_id: str | None, assignee_id: str | None
) -> AsyncGenerator[AssignmentChange, None]:
    async with open_stream(ctx, [channels.assignments(org_id)], org_id=org_id) as stream:
        await stream.check_access("Organization")
        while True:
            try:
                delivery = await stream.next()
            except StreamClosed:
                return
            event = delivery.data
            if delivery.resync or not isinstance(event, dict):
                continue
            if event.get("orgId") != org_id:
                continue
            if team_id is not None and event.get("teamId") != team_id:
                continue
            if assignee_id is not None and assignee_id not in event.get("assigneeIds", []):
                continue
            try:
                item = await assignments.require_assignment(ctx, org_id, event["assignmentId"])
            except (AppError, KeyError):
                continue  # gone meanwhile
            yield AssignmentChange(
                change=str(event.get("type", "")).removeprefix("ASSIGNMENT_"),
                assignment=Assignment.from_item(item),
            )

"""GraphQL types of assignments.

Every relation (checklist snapshot, assignees, team, run) is one `ctx.load` / `ctx.load_many`
of the request's DataLoader, so a list of assignments costs one BatchGetItem per depth level,
whatever its length.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import strawberry
from strawberry.types import Info

from graphql_api.assignments import lists
from graphql_api.assignments.repository import FilteredPage
from graphql_api.assignments.service import status_of
from graphql_api.checklists.types import ChecklistVersion
from graphql_api.common.ids import to_global_id
from graphql_api.common.time import now_iso
from graphql_api.common.types import Connection, Edge, Node, PageInfo
from graphql_api.context import Context
from graphql_api.orgs.types import Member
from graphql_api.store import keys
from graphql_api.store.codec import Item
from graphql_api.store.pagination import CursorCodec
from graphql_api.teams.types import Team

if TYPE_CHECKING:
    from graphql_api.runs.types import Run

T = TypeVar("T")


@strawberry.enum(
    description="Where an assignment stands. OVERDUE is derived: open (ASSIGNED or "
    "IN_PROGRESS) past its due time."
)
class AssignmentStatus(Enum):
    ASSIGNED = "ASSIGNED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    OVERDUE = "OVERDUE"
    CANCELLED = "CANCELLED"


@strawberry.enum(description="How urgent an assignment is.")
class AssignmentPriority(Enum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    URGENT = "URGENT"


@strawberry.type(description="One status change of an assignment.")
class AssignmentHistoryEntry:
    status: AssignmentStatus = strawberry.field(description="The status it changed to.")
    by: str = strawberry.field(description="User ID of who changed it.")
    at: datetime = strawberry.field(description="When.")
    note: str | None = strawberry.field(description="Why, when given.")


@strawberry.type(description="Work on a published checklist given to people and/or a team.")
class Assignment(Node):
    org_id: strawberry.Private[str]
    assignment_id: strawberry.Private[str]
    checklist_id: strawberry.Private[str]
    assignee_ids: strawberry.Private[list[str]]
    team_id: strawberry.Private[str | None]
    active_run_id: strawberry.Private[str | None]
    status: AssignmentStatus = strawberry.field(description="Current status (OVERDUE derived).")
    priority: AssignmentPriority = strawberry.field(description="How urgent it is.")
    due_at: datetime = strawberry.field(description="When it is due.")
    notes: str | None = strawberry.field(description="Instructions for the assignees.")
    checklist_version: int = strawberry.field(
        description="The published checklist version runs of this assignment use."
    )
    history: list[AssignmentHistoryEntry] = strawberry.field(
        description="Status changes, oldest first."
    )
    created_by: str = strawberry.field(description="User ID of who assigned it.")
    created_at: datetime = strawberry.field(description="When it was assigned.")
    updated_at: datetime = strawberry.field(description="When it last changed.")
    version: int = strawberry.field(
        description="Bumped by every change; send it as `expectedVersion` to update."
    )

    @classmethod
    def from_item(cls, item: Item, now: str | None = None) -> Assignment:
        return cls(
            id=strawberry.ID(to_global_id("Assignment", item["orgId"], item["id"])),
            org_id=item["orgId"],
            assignment_id=item["id"],
            checklist_id=item["checklistId"],
            assignee_ids=list(item.get("assigneeIds", [])),
            team_id=item.get("teamId"),
            active_run_id=item.get("activeRunId"),
            status=AssignmentStatus(status_of(item, now)),
            priority=AssignmentPriority(item["priority"]),
            due_at=datetime.fromisoformat(item["dueAt"]),
            notes=item.get("notes"),
            checklist_version=item["checklistVersion"],
            history=[
                AssignmentHistoryEntry(
                    status=AssignmentStatus(h["status"]),
                    by=h["by"],
                    at=datetime.fromisoformat(h["at"]),
                    note=h.get("note"),
                )
                for h in item.get("history", [])
            ],
            created_by=item["createdBy"],
            created_at=datetime.fromisoformat(item["createdAt"]),
            updated_at=datetime.fromisoformat(item["updatedAt"]),
            version=item["version"],
        )

    @strawberry.field(description="The checklist version to work through (a snapshot).")
    async def checklist(self, info: Info[Context, Any]) -> ChecklistVersion | None:
        key = keys.checklist_version(self.org_id, self.checklist_id, self.checklist_version)
        item = await info.context.load(key)
        return ChecklistVersion.from_item(item) if item else None

    @strawberry.field(description="People it is given to (members who left are left out).")
    async def assignees(self, info: Info[Context, Any]) -> list[Member]:
        items = await info.context.load_many(
            [keys.member(self.org_id, uid) for uid in self.assignee_ids]
        )
        return [Member.from_item(i) for i in items if i is not None]

    @strawberry.field(description="The team it is given to, if any (null once deleted).")
    async def team(self, info: Info[Context, Any]) -> Team | None:
        if self.team_id is None:
            return None
        item = await info.context.load(keys.team(self.org_id, self.team_id))
        return Team.from_item(item) if item else None

    @strawberry.field(description="Its run, once started (one run per assignment).")
    async def run(
        self, info: Info[Context, Any]
    ) -> Annotated[Run, strawberry.lazy("graphql_api.runs.types")] | None:
        from graphql_api.runs.types import Run

        if self.active_run_id is None:
            return None
        item = await info.context.load(keys.run_key(self.org_id, self.active_run_id))
        return Run.from_item(item) if item else None


def to_connection(
    page: FilteredPage, to_node: Callable[[Item], T], cursors: CursorCodec, scope: str
) -> Connection[T]:
    """A connection from a filtered page (its end cursor may lie past the last edge)."""
    edges = [Edge(node=to_node(i), cursor=cursors.encode(k, scope)) for i, k in page.entries]
    end = cursors.encode(page.end_key, scope) if page.end_key else None
    return Connection(edges=edges, page_info=PageInfo(has_next_page=page.has_next, end_cursor=end))


async def org_assignments(
    ctx: Context, org_id: str, filters: lists.Filters, first: int | None, after: str | None
) -> Connection[Assignment]:
    """Organization.assignments."""
    page, scope = await lists.in_org(ctx, org_id, filters, first, after)
    now = now_iso()
    return to_connection(page, lambda i: Assignment.from_item(i, now), ctx.cursors, scope)


async def my_assignments(
    ctx: Context, user_id: str, filters: lists.Filters, first: int | None, after: str | None
) -> Connection[Assignment]:
    """User.assignments (the signed-in user's)."""
    page, scope = await lists.for_user(ctx, user_id, filters, first, after)
    now = now_iso()
    return to_connection(page, lambda i: Assignment.from_item(i, now), ctx.cursors, scope)

"""GraphQL types of runs: progress, item answers joined with the checklist snapshot, events
and comments. Relations go through the request's DataLoader (one BatchGetItem per depth level
for a whole list of runs)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.assignments.types import Assignment
from graphql_api.checklists.types import ChecklistItemKind, ChecklistVersion
from graphql_api.common.ids import to_global_id
from graphql_api.common.types import JSON, Connection, Node, connection
from graphql_api.context import Context
from graphql_api.orgs.types import Member
from graphql_api.runs import repository as repo
from graphql_api.store import keys
from graphql_api.store.codec import Item
from graphql_api.store.pagination import page_size


@strawberry.enum(description="Where a run stands.")
class RunStatus(Enum):
    IN_PROGRESS = "IN_PROGRESS"
    SUBMITTED = "SUBMITTED"


@strawberry.enum(description="What a run event records.")
class RunEventType(Enum):
    STARTED = "STARTED"
    ITEM_SET = "ITEM_SET"
    SUBMITTED = "SUBMITTED"
    REOPENED = "REOPENED"
    COMMENT_ADDED = "COMMENT_ADDED"
    FILE_ATTACHED = "FILE_ATTACHED"
    FILE_DETACHED = "FILE_DETACHED"


@strawberry.type(description="How far a run is.")
class RunProgress:
    done: int = strawberry.field(description="Items done.")
    total: int = strawberry.field(description="Items in the checklist version.")
    required_done: int = strawberry.field(description="Required items done.")
    required_total: int = strawberry.field(description="Required items.")
    percent: float = strawberry.field(description="done / total in percent (one decimal).")


@strawberry.type(description="One checklist item of a run: its definition and its answer.")
class RunItem:
    item_id: str = strawberry.field(description="The checklist item's ID.")
    title: str = strawberry.field(description="What to do or check.")
    description: str | None = strawberry.field(description="Instructions.")
    kind: ChecklistItemKind = strawberry.field(description="Kind of answer.")
    required: bool = strawberry.field(description="Must be done before submitting.")
    min: float | None = strawberry.field(description="NUMBER: smallest allowed value.")
    max: float | None = strawberry.field(description="NUMBER: largest allowed value.")
    max_length: int | None = strawberry.field(description="TEXT: longest allowed answer.")
    max_files: int | None = strawberry.field(description="PHOTO: most photos allowed.")
    done: bool = strawberry.field(description="Whether it is done.")
    value: JSON | None = strawberry.field(
        description="The answer: TEXT string, NUMBER number, PHOTO list of file IDs."
    )
    version: int = strawberry.field(
        description="Version of this item's answer (0: never set); send as `expectedVersion`."
    )
    updated_by: str | None = strawberry.field(description="User ID of the last change.")
    updated_at: datetime | None = strawberry.field(description="When it last changed.")

    @classmethod
    def from_parts(cls, definition: Item, state: Item | None) -> RunItem:
        state = state or {}
        updated = state.get("updatedAt")
        return cls(
            item_id=definition["id"],
            title=definition["title"],
            description=definition.get("description"),
            kind=ChecklistItemKind(definition["kind"]),
            required=bool(definition.get("required", True)),
            min=definition.get("min"),
            max=definition.get("max"),
            max_length=definition.get("maxLength"),
            max_files=definition.get("maxFiles"),
            done=bool(state.get("done", False)),
            value=state.get("value"),
            version=state.get("version", 0),
            updated_by=state.get("updatedBy"),
            updated_at=datetime.fromisoformat(updated) if updated else None,
        )


@strawberry.type(description="One change of a run; `version` is the run version it made.")
class RunEvent:
    version: int = strawberry.field(description="The run's version after this change.")
    type: RunEventType = strawberry.field(description="What happened.")
    actor_id: str = strawberry.field(description="Who did it (user ID).")
    item_id: str | None = strawberry.field(description="The checklist item concerned, if any.")
    before: JSON | None = strawberry.field(description="State before (ITEM_SET: the answer).")
    after: JSON | None = strawberry.field(description="State after (ITEM_SET: the answer).")
    at: datetime = strawberry.field(description="When.")

    @classmethod
    def from_item(cls, item: Item) -> RunEvent:
        return cls(
            version=item["version"],
            type=RunEventType(item["type"]),
            actor_id=item["actorId"],
            item_id=item.get("itemId"),
            before=item.get("before"),
            after=item.get("after"),
            at=datetime.fromisoformat(item["at"]),
        )


@strawberry.type(description="A comment on a run or on one of its items.")
class RunComment:
    org_id: strawberry.Private[str]
    id: strawberry.ID = strawberry.field(description="Comment ID (unique within the run).")
    item_id: str | None = strawberry.field(description="The checklist item, if about one.")
    body: str = strawberry.field(description="Text; @userId or @email mentions notify.")
    author_id: str = strawberry.field(description="User ID of the author.")
    mentions: list[str] = strawberry.field(description="User IDs that were notified.")
    created_at: datetime = strawberry.field(description="When it was written.")

    @classmethod
    def from_item(cls, item: Item) -> RunComment:
        return cls(
            org_id=item["orgId"],
            id=strawberry.ID(item["id"]),
            item_id=item.get("itemId"),
            body=item["body"],
            author_id=item["authorId"],
            mentions=list(item.get("mentions", [])),
            created_at=datetime.fromisoformat(item["createdAt"]),
        )

    @strawberry.field(description="The author's membership (null once they left).")
    async def author(self, info: Info[Context, Any]) -> Member | None:
        item = await info.context.load(keys.member(self.org_id, self.author_id))
        return Member.from_item(item) if item else None


@strawberry.type(description="People working through one assignment's checklist version.")
class Run(Node):
    org_id: strawberry.Private[str]
    run_id: strawberry.Private[str]
    assignment_id: strawberry.Private[str]
    checklist_id: strawberry.Private[str]
    counters: strawberry.Private[dict[str, int]]
    status: RunStatus = strawberry.field(description="IN_PROGRESS or SUBMITTED.")
    version: int = strawberry.field(
        description="Bumped by every change (each has a RunEvent of this version)."
    )
    checklist_version: int = strawberry.field(description="The checklist version used.")
    started_by: str = strawberry.field(description="User ID of who started it.")
    started_at: datetime = strawberry.field(description="When it started.")
    submitted_at: datetime | None = strawberry.field(description="When it was last submitted.")

    @classmethod
    def from_item(cls, item: Item) -> Run:
        submitted = item.get("submittedAt") if item["status"] == "SUBMITTED" else None
        return cls(
            id=strawberry.ID(to_global_id("Run", item["orgId"], item["id"])),
            org_id=item["orgId"],
            run_id=item["id"],
            assignment_id=item["assignmentId"],
            checklist_id=item["checklistId"],
            counters={
                k: int(item.get(k, 0))
                for k in ("doneCount", "totalCount", "requiredCount", "requiredDoneCount")
            },
            status=RunStatus(item["status"]),
            version=item["version"],
            checklist_version=item["checklistVersion"],
            started_by=item["startedBy"],
            started_at=datetime.fromisoformat(item["startedAt"]),
            submitted_at=datetime.fromisoformat(submitted) if submitted else None,
        )

    @strawberry.field(description="Items done out of the total (from the run's counters).")
    def progress(self) -> RunProgress:
        done, total = self.counters["doneCount"], self.counters["totalCount"]
        return RunProgress(
            done=done,
            total=total,
            required_done=self.counters["requiredDoneCount"],
            required_total=self.counters["requiredCount"],
            percent=round(100.0 * done / total, 1) if total else 100.0,
        )

    @strawberry.field(description="The assignment this run works on.")
    async def assignment(self, info: Info[Context, Any]) -> Assignment | None:
        item = await info.context.load(keys.assignment_key(self.org_id, self.assignment_id))
        return Assignment.from_item(item) if item else None

    @strawberry.field(description="The checklist version (snapshot) this run uses.")
    async def checklist(self, info: Info[Context, Any]) -> ChecklistVersion | None:
        item = await self._snapshot(info.context)
        return ChecklistVersion.from_item(item) if item else None

    @strawberry.field(description="Every item in checklist order, with its answer.")
    async def items(self, info: Info[Context, Any]) -> list[RunItem]:
        ctx = info.context
        snapshot = await self._snapshot(ctx)
        definitions = snapshot.get("items", []) if snapshot else []
        states = await ctx.load_many(
            [keys.run_item(self.org_id, self.run_id, d["id"]) for d in definitions]
        )
        return [RunItem.from_parts(d, s) for d, s in zip(definitions, states, strict=True)]

    @strawberry.field(description="Changes after `afterVersion`, oldest first.")
    async def events(
        self,
        info: Info[Context, Any],
        after_version: int = 0,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[RunEvent]:
        ctx = info.context
        size = page_size(first)
        scope = f"{self.org_id}:run:{self.run_id}:events:{after_version}"
        start = ctx.cursors.decode(after, scope) if after else None
        page = await repo.events_after(
            ctx, self.org_id, self.run_id, max(after_version, 0), size + 1, start
        )
        return connection(page, size, RunEvent.from_item, ctx.cursors, scope)

    @strawberry.field(description="Comments, oldest first.")
    async def comments(
        self, info: Info[Context, Any], first: int | None = None, after: str | None = None
    ) -> Connection[RunComment]:
        ctx = info.context
        size = page_size(first)
        scope = f"{self.org_id}:run:{self.run_id}:comments"
        start = ctx.cursors.decode(after, scope) if after else None
        page = await repo.page_comments(ctx, self.org_id, self.run_id, size + 1, start)
        return connection(page, size, RunComment.from_item, ctx.cursors, scope)

    async def _snapshot(self, ctx: Context) -> Item | None:
        key = keys.checklist_version(self.org_id, self.checklist_id, self.checklist_version)
        return await ctx.load(key)


@strawberry.type(description="The answered item and the run after the change.")
class RunItemPayload:
    item: RunItem = strawberry.field(description="The item with its new answer.")
    run: Run = strawberry.field(description="The run (new version and progress).")


async def org_runs(
    ctx: Context, org_id: str, first: int | None, after: str | None
) -> Connection[Run]:
    """Organization.runs: newest first."""
    size = page_size(first)
    scope = f"{org_id}:runs"
    start = ctx.cursors.decode(after, scope) if after else None
    page = await repo.page_org_runs(ctx, org_id, size + 1, start)
    return connection(page, size, Run.from_item, ctx.cursors, scope, "gsi1")

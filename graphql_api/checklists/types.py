"""GraphQL types of checklists, their items and published versions."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.checklists import repository as repo
from graphql_api.common.ids import to_global_id
from graphql_api.common.types import Connection, Node, connection
from graphql_api.context import Context
from graphql_api.store.codec import Item
from graphql_api.store.pagination import page_size


@strawberry.enum(description="Lifecycle of a checklist: DRAFT -> PUBLISHED -> ARCHIVED.")
class ChecklistStatus(Enum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"
    ARCHIVED = "ARCHIVED"


@strawberry.enum(description="What answering a checklist item takes.")
class ChecklistItemKind(Enum):
    CHECK = "CHECK"
    TEXT = "TEXT"
    NUMBER = "NUMBER"
    PHOTO = "PHOTO"


@strawberry.type(
    description=(
        "One step of a checklist. Its ID is `itemId` (unique within the checklist, stable "
        "across versions) rather than `id`, so client caches do not merge the same item of "
        "different checklists or versions."
    )
)
class ChecklistItem:
    item_id: str = strawberry.field(description="Unique within the checklist.")
    title: str = strawberry.field(description="What to do or check.")
    description: str | None = strawberry.field(description="Instructions.")
    required: bool = strawberry.field(description="Must be done before the run is submitted.")
    kind: ChecklistItemKind = strawberry.field(description="Kind of answer.")
    min: float | None = strawberry.field(description="NUMBER: smallest allowed value.")
    max: float | None = strawberry.field(description="NUMBER: largest allowed value.")
    max_length: int | None = strawberry.field(description="TEXT: longest allowed answer.")
    max_files: int | None = strawberry.field(description="PHOTO: most photos allowed.")

    @classmethod
    def from_item(cls, item: Item) -> ChecklistItem:
        return cls(
            item_id=item["id"],
            title=item["title"],
            description=item.get("description"),
            required=bool(item.get("required", True)),
            kind=ChecklistItemKind(item["kind"]),
            min=item.get("min"),
            max=item.get("max"),
            max_length=item.get("maxLength"),
            max_files=item.get("maxFiles"),
        )


@strawberry.type(
    description=(
        "An immutable published version of a checklist. Runs keep the version they started "
        "on; editing a PUBLISHED checklist publishes the next version."
    )
)
class ChecklistVersion:
    org_id: strawberry.Private[str]
    checklist_id: strawberry.ID = strawberry.field(description="Global ID of the checklist.")
    version: int = strawberry.field(description="Published version number (1, 2, ...).")
    title: str = strawberry.field(description="Title at this version.")
    description: str | None = strawberry.field(description="Description at this version.")
    items: list[ChecklistItem] = strawberry.field(description="Items at this version, in order.")
    published_at: datetime = strawberry.field(description="When this version was published.")

    @classmethod
    def from_item(cls, item: Item) -> ChecklistVersion:
        return cls(
            org_id=item["orgId"],
            checklist_id=strawberry.ID(
                to_global_id("Checklist", item["orgId"], item["checklistId"])
            ),
            version=item["version"],
            title=item["title"],
            description=item.get("description"),
            items=[ChecklistItem.from_item(i) for i in item.get("items", [])],
            published_at=datetime.fromisoformat(item["publishedAt"]),
        )


@strawberry.type(description="A checklist template: ordered items that runs are made of.")
class Checklist(Node):
    org_id: strawberry.Private[str]
    checklist_id: strawberry.Private[str]
    title: str = strawberry.field(description="Title.")
    description: str | None = strawberry.field(description="What the checklist is for.")
    status: ChecklistStatus = strawberry.field(description="DRAFT, PUBLISHED or ARCHIVED.")
    version: int = strawberry.field(
        description="Bumped by every change; send it back as `expectedVersion` to update."
    )
    published_version: int | None = strawberry.field(
        description="Number of the latest published version (null until first published)."
    )
    items: list[ChecklistItem] = strawberry.field(description="Current items, in order.")
    created_by: str = strawberry.field(description="User ID of the creator.")
    created_at: datetime = strawberry.field(description="When it was created.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def from_item(cls, item: Item) -> Checklist:
        return cls(
            id=strawberry.ID(to_global_id("Checklist", item["orgId"], item["id"])),
            org_id=item["orgId"],
            checklist_id=item["id"],
            title=item["title"],
            description=item.get("description"),
            status=ChecklistStatus(item["status"]),
            version=item["version"],
            published_version=item.get("publishedVersion"),
            items=[ChecklistItem.from_item(i) for i in item.get("items", [])],
            created_by=item["createdBy"],
            created_at=datetime.fromisoformat(item["createdAt"]),
            updated_at=datetime.fromisoformat(item["updatedAt"]),
        )

    @strawberry.field(
        description=(
            "A published version (the latest when `version` is omitted); null when there "
            "is no such version."
        )
    )
    async def snapshot(
        self, info: Info[Context, Any], version: int | None = None
    ) -> ChecklistVersion | None:
        number = version if version is not None else self.published_version
        if number is None:
            return None
        item = await repo.get_version(info.context, self.org_id, self.checklist_id, number)
        return ChecklistVersion.from_item(item) if item else None

    @strawberry.field(description="Published versions, newest first.")
    async def snapshots(
        self, info: Info[Context, Any], first: int | None = None, after: str | None = None
    ) -> Connection[ChecklistVersion]:
        ctx = info.context
        size = page_size(first)
        scope = f"{self.org_id}:checklist:{self.checklist_id}:versions"
        start = ctx.cursors.decode(after, scope) if after else None
        page = await repo.page_versions(ctx, self.org_id, self.checklist_id, size + 1, start)
        return connection(page, size, ChecklistVersion.from_item, ctx.cursors, scope)


async def checklists_connection(
    ctx: Context, org_id: str, first: int | None, after: str | None
) -> Connection[Checklist]:
    """An organization's checklists (every status), in ID order (Organization.checklists)."""
    size = page_size(first)
    scope = f"{org_id}:checklists"
    start = ctx.cursors.decode(after, scope) if after else None
    page = await repo.page_checklists(ctx, org_id, size + 1, start)
    return connection(page, size, Checklist.from_item, ctx.cursors, scope)

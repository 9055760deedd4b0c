"""Inputs of the checklist mutations."""

from __future__ import annotations

from typing import Any

import strawberry

from graphql_api.checklists.types import ChecklistItemKind


@strawberry.input(
    description=(
        "One checklist item. Constraints apply to one kind each: min/max to NUMBER, "
        "maxLength to TEXT, maxFiles to PHOTO."
    )
)
class ChecklistItemInput:
    item_id: str | None = strawberry.field(
        default=None,
        description="Keep an item's ID across edits; 1-64 of A-Z a-z 0-9 - _ (assigned if absent).",
    )
    title: str = strawberry.field(description="What to do or check (1-200 characters).")
    description: str | None = strawberry.field(
        default=None, description="Instructions (at most 1000 characters)."
    )
    required: bool = strawberry.field(default=True, description="Needed to submit a run.")
    kind: ChecklistItemKind = strawberry.field(description="Kind of answer.")
    min: float | None = strawberry.field(default=None, description="NUMBER: smallest value.")
    max: float | None = strawberry.field(default=None, description="NUMBER: largest value.")
    max_length: int | None = strawberry.field(
        default=None, description="TEXT: longest answer (1-10000)."
    )
    max_files: int | None = strawberry.field(default=None, description="PHOTO: most photos (1-20).")

    def to_dict(self) -> dict[str, Any]:
        """The service's plain shape (stored attribute names)."""
        return {
            "id": self.item_id,
            "title": self.title,
            "description": self.description,
            "required": self.required,
            "kind": self.kind.value,
            "min": self.min,
            "max": self.max,
            "maxLength": self.max_length,
            "maxFiles": self.max_files,
        }


@strawberry.input(description="A new DRAFT checklist (MANAGER+; counts against the plan).")
class CreateChecklistInput:
    org_id: strawberry.ID = strawberry.field(description="The organization.")
    title: str = strawberry.field(description="Title (1-200 characters).")
    description: str | None = strawberry.field(
        default=None, description="What it is for (at most 2000 characters)."
    )
    items: list[ChecklistItemInput] = strawberry.field(
        default_factory=list, description="Items in order (at most 200)."
    )


@strawberry.input(
    description=(
        "Changes to a checklist (MANAGER+). On a PUBLISHED checklist this publishes the next "
        "version; runs already started keep theirs."
    )
)
class UpdateChecklistInput:
    id: strawberry.ID = strawberry.field(description="The checklist.")
    expected_version: int = strawberry.field(
        description="The `version` you edited; a stale one is CONFLICT with `currentVersion`."
    )
    title: str | None = strawberry.field(default=None, description="New title.")
    description: str | None = strawberry.field(
        default=None, description="New description (empty string clears it)."
    )
    items: list[ChecklistItemInput] | None = strawberry.field(
        default=None, description="The complete new item list, in order (replaces all items)."
    )

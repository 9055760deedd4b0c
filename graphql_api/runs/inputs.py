"""Inputs of the run mutations."""

from __future__ import annotations

import strawberry

from graphql_api.common.types import JSON


@strawberry.input(
    description=(
        "An item's answer. CHECK takes `done`; TEXT a string (<= maxLength); NUMBER a number "
        "within min/max; PHOTO null or a list of file IDs. For the kinds with a value, "
        "`done` defaults to whether a value is given."
    )
)
class ItemStateInput:
    done: bool | None = strawberry.field(default=None, description="Whether the item is done.")
    value: JSON | None = strawberry.field(default=None, description="The answer (by kind).")
    expected_version: int | None = strawberry.field(
        default=None,
        description=(
            "The item's `version` you edited (0: never set). A stale one is CONFLICT with "
            "the item's current state in `extensions.current`; omit it to overwrite."
        ),
    )

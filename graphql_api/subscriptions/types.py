"""Payload types of the subscriptions (presence's are in graphql_api/presence/types.py)."""

from __future__ import annotations

import strawberry

from graphql_api.assignments.types import Assignment
from graphql_api.runs.types import Run, RunEvent, RunProgress
from graphql_api.subscriptions.sharing import SharedResults


@strawberry.type(
    description=(
        "One version of a run (runUpdated). Without `afterVersion` the first one is a "
        "snapshot (`snapshot` set, `event` null); every later one is the next version's event."
    )
)
class RunUpdate:
    run_id: strawberry.ID = strawberry.field(description="The run (global ID).")
    version: int = strawberry.field(
        description="The run's version after this update; consecutive, never repeated."
    )
    event: RunEvent | None = strawberry.field(
        description="What changed: type, item and its state before/after, actor, time."
    )
    snapshot: Run | None = strawberry.field(
        description="The whole run at `version` (first update without `afterVersion` only)."
    )
    progress: RunProgress = strawberry.field(description="The run's progress at `version`.")
    # Set on updates every local subscriber shares: executed and encoded once (sharing.py).
    shared: strawberry.Private[SharedResults | None] = None


@strawberry.type(description="A change to an assignment, with the assignment as it is now.")
class AssignmentChange:
    change: str = strawberry.field(
        description=(
            "What happened: CREATED, UPDATED, CANCELLED, or a run's status change "
            "(STARTED, SUBMITTED, REOPENED)."
        )
    )
    assignment: Assignment = strawberry.field(description="The assignment after the change.")

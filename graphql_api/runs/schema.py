"""Run queries and mutations, with their access rules.

VIEWER+ read. MEMBER+ start and work on runs (the service also requires that a MEMBER is an
assignee or on the assigned team); reopening is MANAGER+.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.common.ids import GlobalId
from graphql_api.common.node import decode_in_org, register_node
from graphql_api.context import Context
from graphql_api.rbac.permissions import IsAuthenticated, org_role
from graphql_api.rbac.roles import Role
from graphql_api.runs import comments, lifecycle, service
from graphql_api.runs import repository as repo
from graphql_api.runs.inputs import ItemStateInput
from graphql_api.runs.types import Run, RunComment, RunItem, RunItemPayload


@strawberry.type
class Query:
    @strawberry.field(
        description="A run of an organization the caller belongs to (others: NOT_FOUND).",
        permission_classes=[IsAuthenticated, org_role(Role.VIEWER, "id")],
    )
    async def run(self, info: Info[Context, Any], id: strawberry.ID) -> Run:
        gid = decode_in_org(info.context, id, "Run")
        return Run.from_item(await service.require_run(info.context, gid.org_id, gid.id))


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description=(
            "Start the assignment's run, or get it when already started (one run per "
            "assignment; MEMBER+ given the assignment, or MANAGER+)."
        ),
        permission_classes=[IsAuthenticated, org_role(Role.MEMBER, "assignment_id")],
    )
    async def start_run(self, info: Info[Context, Any], assignment_id: strawberry.ID) -> Run:
        gid = decode_in_org(info.context, assignment_id, "Assignment")
        return Run.from_item(await service.start_run(info.context, gid.org_id, gid.id))

    @strawberry.mutation(
        description=(
            "Answer one item of an IN_PROGRESS run. Items are versioned one by one: edits "
            "of different items never conflict; a stale `expectedVersion` is CONFLICT."
        ),
        permission_classes=[IsAuthenticated, org_role(Role.MEMBER, "run_id")],
    )
    async def set_item_state(
        self,
        info: Info[Context, Any],
        run_id: strawberry.ID,
        item_id: str,
        input: ItemStateInput,
    ) -> RunItemPayload:
        ctx = info.context
        gid = decode_in_org(ctx, run_id, "Run")
        state, run = await service.set_item_state(
            ctx, gid.org_id, gid.id, item_id, input.done, input.value, input.expected_version
        )
        snapshot = await service.snapshot_of(ctx, run)
        definition = service.definition_of(snapshot, item_id)
        return RunItemPayload(item=RunItem.from_parts(definition, state), run=Run.from_item(run))

    @strawberry.mutation(
        description=(
            "Submit a run whose required items are all done (else BAD_USER_INPUT with "
            "`missingItems`); the assignment becomes COMPLETED."
        ),
        permission_classes=[IsAuthenticated, org_role(Role.MEMBER, "run_id")],
    )
    async def submit_run(self, info: Info[Context, Any], run_id: strawberry.ID) -> Run:
        gid = decode_in_org(info.context, run_id, "Run")
        return Run.from_item(await lifecycle.submit_run(info.context, gid.org_id, gid.id))

    @strawberry.mutation(
        description="Reopen a submitted run (MANAGER+); the assignment is IN_PROGRESS again.",
        permission_classes=[IsAuthenticated, org_role(Role.MANAGER, "run_id")],
    )
    async def reopen_run(
        self, info: Info[Context, Any], run_id: strawberry.ID, note: str | None = None
    ) -> Run:
        gid = decode_in_org(info.context, run_id, "Run")
        return Run.from_item(await lifecycle.reopen_run(info.context, gid.org_id, gid.id, note))

    @strawberry.mutation(
        description=(
            "Comment on a run or one of its items; `@userId` / `@email` of members notify them."
        ),
        permission_classes=[IsAuthenticated, org_role(Role.MEMBER, "run_id")],
    )
    async def add_comment(
        self,
        info: Info[Context, Any],
        run_id: strawberry.ID,
        body: str,
        item_id: str | None = None,
    ) -> RunComment:
        gid = decode_in_org(info.context, run_id, "Run")
        item = await comments.add_comment(info.context, gid.org_id, gid.id, item_id, body)
        return RunComment.from_item(item)


async def _run_node(ctx: Context, gid: GlobalId) -> Run | None:
    item = await repo.get(ctx, gid.org_id, gid.id)
    return Run.from_item(item) if item else None


register_node("Run", _run_node)

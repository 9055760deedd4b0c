"""Checklist queries and mutations, with their access rules (reads VIEWER+, writes MANAGER+)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.checklists import repository as repo
from graphql_api.checklists import service
from graphql_api.checklists.inputs import CreateChecklistInput, UpdateChecklistInput
from graphql_api.checklists.types import Checklist
from graphql_api.common.ids import GlobalId
from graphql_api.common.node import decode_in_org, register_node
from graphql_api.context import Context
from graphql_api.rbac.permissions import IsAuthenticated, org_role
from graphql_api.rbac.roles import Role


@strawberry.type
class Query:
    @strawberry.field(
        description="A checklist of an organization the caller belongs to (others: NOT_FOUND).",
        permission_classes=[IsAuthenticated, org_role(Role.VIEWER, "id")],
    )
    async def checklist(self, info: Info[Context, Any], id: strawberry.ID) -> Checklist:
        gid = decode_in_org(info.context, id, "Checklist")
        item = await service.require_checklist(info.context, gid.org_id, gid.id)
        return Checklist.from_item(item)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create a DRAFT checklist (MANAGER+; LIMIT_EXCEEDED over the plan).",
        permission_classes=[IsAuthenticated, org_role(Role.MANAGER, "input.org_id")],
    )
    async def create_checklist(
        self, info: Info[Context, Any], input: CreateChecklistInput
    ) -> Checklist:
        gid = decode_in_org(info.context, input.org_id, "Organization")
        item = await service.create_checklist(
            info.context,
            gid.org_id,
            input.title,
            input.description,
            [i.to_dict() for i in input.items],
        )
        return Checklist.from_item(item)

    @strawberry.mutation(
        description=(
            "Edit a DRAFT or PUBLISHED checklist (MANAGER+). A stale `expectedVersion` is "
            "CONFLICT with `currentVersion` in the error's extensions."
        ),
        permission_classes=[IsAuthenticated, org_role(Role.MANAGER, "input.id")],
    )
    async def update_checklist(
        self, info: Info[Context, Any], input: UpdateChecklistInput
    ) -> Checklist:
        gid = decode_in_org(info.context, input.id, "Checklist")
        item = await service.update_checklist(
            info.context,
            gid.org_id,
            gid.id,
            input.expected_version,
            input.title,
            input.description,
            [i.to_dict() for i in input.items] if input.items is not None else None,
        )
        return Checklist.from_item(item)

    @strawberry.mutation(
        description=(
            "Publish a DRAFT checklist as its next version (MANAGER+); already PUBLISHED is "
            "a no-op."
        ),
        permission_classes=[IsAuthenticated, org_role(Role.MANAGER, "id")],
    )
    async def publish_checklist(
        self, info: Info[Context, Any], id: strawberry.ID, expected_version: int | None = None
    ) -> Checklist:
        gid = decode_in_org(info.context, id, "Checklist")
        item = await service.publish_checklist(info.context, gid.org_id, gid.id, expected_version)
        return Checklist.from_item(item)

    @strawberry.mutation(
        description=(
            "Archive a checklist (MANAGER+): no new assignments; it stops counting against "
            "the plan; runs already started keep their version."
        ),
        permission_classes=[IsAuthenticated, org_role(Role.MANAGER, "id")],
    )
    async def archive_checklist(self, info: Info[Context, Any], id: strawberry.ID) -> Checklist:
        gid = decode_in_org(info.context, id, "Checklist")
        item = await service.archive_checklist(info.context, gid.org_id, gid.id)
        return Checklist.from_item(item)


async def _checklist_node(ctx: Context, gid: GlobalId) -> Checklist | None:
    item = await repo.get_checklist(ctx, gid.org_id, gid.id)
    return Checklist.from_item(item) if item else None


register_node("Checklist", _checklist_node)

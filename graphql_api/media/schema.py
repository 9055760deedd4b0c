"""File queries and mutations, with their access rules.

VIEWER+ read files. Uploading is MEMBER+ (VIEWERs cannot upload); the service narrows it by
target: runs the caller may work on, checklists and teams for MANAGER+, one's own avatar.
Only its uploader completes an upload (anyone else's is NOT_FOUND); a file is deleted by its
uploader or MANAGER+.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.common.ids import GlobalId
from graphql_api.common.node import decode_in_org, register_node
from graphql_api.common.types import JSON, Connection
from graphql_api.context import Context
from graphql_api.media import repository as repo
from graphql_api.media import service, targets
from graphql_api.media.inputs import CreateUploadInput, FileTargetInput
from graphql_api.media.types import File, Upload, UploadPayload, target_files
from graphql_api.rbac.permissions import IsAuthenticated, org_role
from graphql_api.rbac.roles import Role


@strawberry.type
class Query:
    @strawberry.field(
        description="Files attached to one target, newest first (VIEWER+).",
        permission_classes=[IsAuthenticated, org_role(Role.VIEWER, "org_id")],
    )
    async def files(
        self,
        info: Info[Context, Any],
        org_id: strawberry.ID,
        target: FileTargetInput,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[File]:
        ctx = info.context
        org = decode_in_org(ctx, org_id, "Organization").org_id
        stored = targets.decode(ctx, org, target.kind.value, target.id, target.item_id)
        await targets.require_exists(ctx, org, stored)
        return await target_files(ctx, org, stored, first, after)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description=(
            "Start an upload: returns a presigned POST (valid 10 minutes) for exactly this "
            "file. Size is limited per plan and by the organization's storage quota "
            "(LIMIT_EXCEEDED)."
        ),
        permission_classes=[IsAuthenticated, org_role(Role.MEMBER, "input.org_id")],
    )
    async def create_upload(
        self, info: Info[Context, Any], input: CreateUploadInput
    ) -> UploadPayload:
        ctx = info.context
        org = decode_in_org(ctx, input.org_id, "Organization").org_id
        t = input.target
        stored = targets.decode(ctx, org, t.kind.value, t.id, t.item_id)
        new = await service.create_upload(
            ctx, org, stored, input.filename, input.content_type, int(input.size)
        )
        return UploadPayload(
            upload=Upload.from_item(new.item),
            url=new.post.url,
            fields=JSON(new.post.fields),
            form_expires_at=new.form_expires_at,
        )

    @strawberry.mutation(
        description=(
            "Check what was uploaded and store it: the file becomes READY and is attached to "
            "its target. A missing object, or one whose size or type differs from what was "
            "declared, is BAD_USER_INPUT (a wrong object is deleted and the upload REJECTED)."
        ),
        permission_classes=[IsAuthenticated, org_role(Role.MEMBER, "upload_id")],
    )
    async def complete_upload(self, info: Info[Context, Any], upload_id: strawberry.ID) -> File:
        gid = decode_in_org(info.context, upload_id, "Upload")
        return File.from_item(await service.complete_upload(info.context, gid.org_id, gid.id))

    @strawberry.mutation(
        description=(
            "Delete a file (its uploader or MANAGER+); its bytes leave the usage. A file on "
            "an item of a submitted run stays until the run is reopened."
        ),
        permission_classes=[IsAuthenticated, org_role(Role.VIEWER, "file_id")],
    )
    async def delete_file(self, info: Info[Context, Any], file_id: strawberry.ID) -> File:
        gid = decode_in_org(info.context, file_id, "File")
        return File.from_item(await service.delete_file(info.context, gid.org_id, gid.id))


async def _file_node(ctx: Context, gid: GlobalId) -> File | None:
    item = await repo.get(ctx, gid.org_id, gid.id)
    return File.from_item(item) if item and item["status"] == service.READY else None


async def _upload_node(ctx: Context, gid: GlobalId) -> Upload | None:
    item = await repo.get(ctx, gid.org_id, gid.id)
    if item is None or item["uploaderId"] != ctx.user_id:
        return None
    return Upload.from_item(item)


register_node("File", _file_node)
register_node("Upload", _upload_node)

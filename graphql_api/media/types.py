"""GraphQL types of uploads and files."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.common.ids import to_global_id
from graphql_api.common.time import parse_iso
from graphql_api.common.types import JSON, Connection, Long, Node, connection
from graphql_api.context import Context
from graphql_api.media import repository as repo
from graphql_api.media import service, targets
from graphql_api.media.inputs import FileTargetKind
from graphql_api.orgs.types import Member
from graphql_api.rbac.permissions import org_role
from graphql_api.rbac.roles import Role
from graphql_api.store import keys
from graphql_api.store.codec import Item
from graphql_api.store.pagination import page_size


@strawberry.enum(description="Where an upload stands (EXPIRED is derived at read time).")
class UploadStatus(Enum):
    PENDING = "PENDING"
    READY = "READY"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"


@strawberry.type(description="What a file is attached to.")
class FileTarget:
    kind: FileTargetKind = strawberry.field(description="Kind of target.")
    id: strawberry.ID = strawberry.field(
        description="Global ID of the run, checklist, team or (AVATAR) member."
    )
    item_id: str | None = strawberry.field(description="RUN_ITEM: the checklist item.")

    @classmethod
    def from_stored(cls, org_id: str, target: Item) -> FileTarget:
        return cls(
            kind=FileTargetKind(target["kind"]),
            id=strawberry.ID(targets.global_id(org_id, target)),
            item_id=target.get("itemId"),
        )


@strawberry.type(description="A stored file: an upload that was completed and accepted.")
class File(Node):
    org_id: strawberry.Private[str]
    item: strawberry.Private[Item]
    filename: str = strawberry.field(description="Original name (sanitized).")
    content_type: str = strawberry.field(description="MIME type.")
    size: Long = strawberry.field(description="Size in bytes.")
    uploader_id: str = strawberry.field(description="User ID of who uploaded it.")
    created_at: datetime = strawberry.field(description="When the upload was completed.")
    target: FileTarget = strawberry.field(description="What it is attached to.")

    @classmethod
    def from_item(cls, item: Item) -> File:
        return cls(
            id=strawberry.ID(service.file_global_id(item)),
            org_id=item["orgId"],
            item=item,
            filename=item["filename"],
            content_type=item["contentType"],
            size=Long(int(item["size"])),
            uploader_id=item["uploaderId"],
            created_at=parse_iso(item.get("completedAt") or item["createdAt"]),
            target=FileTarget.from_stored(item["orgId"], item["target"]),
        )

    @strawberry.field(description="The uploader's membership (null once they left).")
    async def uploader(self, info: Info[Context, Any]) -> Member | None:
        member = await info.context.load(keys.member(self.org_id, self.uploader_id))
        return Member.from_item(member) if member else None

    @strawberry.field(
        description=(
            "A link that downloads the file as an attachment under its original name; valid "
            "for 5 minutes, so fetch it right before use."
        ),
        permission_classes=[org_role(Role.VIEWER)],
    )
    async def download_url(self, info: Info[Context, Any]) -> str:
        return await service.download_url(info.context, self.item)


@strawberry.type(description="An upload: a file on its way to storage.")
class Upload(Node):
    org_id: strawberry.Private[str]
    item: strawberry.Private[Item]
    status: UploadStatus = strawberry.field(description="Where it stands.")
    filename: str = strawberry.field(description="Name of the file (sanitized).")
    content_type: str = strawberry.field(description="Declared MIME type.")
    size: Long = strawberry.field(description="Declared size in bytes.")
    created_at: datetime = strawberry.field(description="When it was started.")
    expires_at: datetime = strawberry.field(
        description="After this a pending upload can no longer be completed."
    )
    target: FileTarget = strawberry.field(description="Where the file goes.")

    @classmethod
    def from_item(cls, item: Item) -> Upload:
        return cls(
            id=strawberry.ID(to_global_id("Upload", item["orgId"], item["id"])),
            org_id=item["orgId"],
            item=item,
            status=UploadStatus(service.status_of(item)),
            filename=item["filename"],
            content_type=item["contentType"],
            size=Long(int(item["size"])),
            created_at=parse_iso(item["createdAt"]),
            expires_at=parse_iso(item["expiresAt"]),
            target=FileTarget.from_stored(item["orgId"], item["target"]),
        )

    @strawberry.field(description="The file, once the upload is READY.")
    def file(self) -> File | None:
        return File.from_item(self.item) if self.item["status"] == service.READY else None


@strawberry.type(
    description=(
        "A started upload: POST `fields` and then the file (as the last field, named `file`) "
        "as multipart/form-data to `url`, then call completeUpload."
    )
)
class UploadPayload:
    upload: Upload = strawberry.field(description="The pending upload.")
    url: str = strawberry.field(description="Where to POST the form.")
    fields: JSON = strawberry.field(
        description="Form fields to send as they are (a signed SigV4 policy pins them)."
    )
    form_expires_at: datetime = strawberry.field(description="The form stops working then.")


async def target_files(
    ctx: Context, org_id: str, target: Item, first: int | None, after: str | None
) -> Connection[File]:
    """READY files of one target, newest first."""
    size = page_size(first)
    listing = targets.listing_key(target)
    scope = f"{org_id}:files:{listing}"
    start = ctx.cursors.decode(after, scope) if after else None
    page = await repo.page_target_files(ctx, org_id, listing, size + 1, start)
    return connection(page, size, File.from_item, ctx.cursors, scope, "gsi1")

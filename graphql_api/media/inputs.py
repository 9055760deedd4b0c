"""Inputs of the file mutations."""

from __future__ import annotations

from enum import Enum

import strawberry

from graphql_api.common.types import Long


@strawberry.enum(description="What a file is attached to.")
class FileTargetKind(Enum):
    RUN_ITEM = "RUN_ITEM"
    RUN = "RUN"
    CHECKLIST = "CHECKLIST"
    TEAM = "TEAM"
    AVATAR = "AVATAR"


@strawberry.input(description="Where a file goes once its upload is complete.")
class FileTargetInput:
    kind: FileTargetKind = strawberry.field(description="Kind of target.")
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description=(
            "Global ID of the run, checklist or team; for AVATAR the caller's own Member ID "
            "(may be omitted)."
        ),
    )
    item_id: str | None = strawberry.field(
        default=None, description="RUN_ITEM: the checklist item (a PHOTO item) of the run."
    )


@strawberry.input(description="A file the caller is about to upload straight to storage.")
class CreateUploadInput:
    org_id: strawberry.ID = strawberry.field(description="The organization.")
    target: FileTargetInput = strawberry.field(description="What the file is for.")
    filename: str = strawberry.field(
        description="The file's name (shown and offered on download; never used as a path)."
    )
    content_type: str = strawberry.field(
        description=(
            "MIME type, exactly as the upload will send it: images (jpeg, png, webp, gif, "
            "heic), PDF, office documents (doc/docx, xls/xlsx, ppt/pptx, odt, ods), csv, txt."
        )
    )
    size: Long = strawberry.field(description="Exact size in bytes.")

"""DynamoDB items of uploads and files.

One item per upload, ORG#<oid> / FILE#<fid>, from PENDING to READY (or REJECTED); READY
files are listed per target on gsi1. While an upload is pending, a marker item
ORG#<oid> / PENDINGUPLOAD#<expiresAt>#<fid> holds its size: the quota counts the markers
whose key lies after "now", so an expired upload stops counting the moment it expires,
whether or not TTL has deleted anything yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from graphql_api.context import Context
from graphql_api.store import keys
from graphql_api.store.client import Page
from graphql_api.store.codec import Item


async def get(ctx: Context, org_id: str, fid: str) -> Item | None:
    return await ctx.load(keys.file(org_id, fid))


async def get_consistent(ctx: Context, org_id: str, fid: str) -> Item | None:
    return await ctx.store.get(keys.file(org_id, fid), consistent=True)


async def org_consistent(ctx: Context, org_id: str) -> Item | None:
    """The organization item as committed (its plan, storageBytes and uploadSeq)."""
    return await ctx.store.get(keys.org(org_id), consistent=True)


async def live_pending(ctx: Context, org_id: str, now: str, limit: int) -> list[Item]:
    """Markers of uploads not expired at `now` (at most `limit`, consistent)."""
    page = await ctx.store.query(
        keys.org_pk(org_id),
        sk_between=(
            f"{keys.PENDING_UPLOAD_PREFIX}{now}",
            f"{keys.PENDING_UPLOAD_PREFIX}{keys.MAX_SORT}",
        ),
        limit=limit,
        consistent=True,
    )
    return page.items


async def page_target_files(
    ctx: Context, org_id: str, target: str, limit: int, start: dict[str, Any] | None
) -> Page:
    """READY files of one target, newest first."""
    return await ctx.store.query(
        keys.file_target_gsi(org_id, target),
        index="gsi1",
        limit=limit,
        start_key=start,
        forward=False,
    )


def marker_item(upload: Item) -> Item:
    return {
        **keys.pending_upload(upload["orgId"], upload["expiresAt"], upload["id"]),
        "entity": "PendingUpload",
        "orgId": upload["orgId"],
        "fileId": upload["id"],
        "size": upload["size"],
        "ttl": upload["ttl"],
    }


def upload_item(
    org_id: str,
    fid: str,
    *,
    object_key: str,
    filename: str,
    content_type: str,
    size: int,
    uploader: str,
    target: dict[str, Any],
    created_at: str,
    expires_at: str,
    ttl: int,
) -> Item:
    return {
        **keys.file(org_id, fid),
        "entity": "File",
        "id": fid,
        "orgId": org_id,
        "objectKey": object_key,
        "filename": filename,
        "contentType": content_type,
        "size": size,
        "uploaderId": uploader,
        "target": target,
        "status": "PENDING",
        "createdAt": created_at,
        "expiresAt": expires_at,
        "ttl": ttl,
    }


def epoch(at: datetime) -> int:
    """A TTL attribute value (seconds since the epoch) for a datetime."""
    return int(at.timestamp())

"""The organization's storage quota: usage plus live pending uploads.

Usage is `storageBytes` on the org item plus the sizes of the live pending-upload markers
(see media.repository). Two concurrent createUploads must not both fit into the same free
space, so each conditions its commit on the org's `uploadSeq` as read before its check, and
bumps it; so does each completion, which moves bytes from a marker into `storageBytes` and
could otherwise fall between a createUpload's two reads (org item, then markers). A failed
condition means "read again and check again", never "write anyway".
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from graphql_api.common.time import now_iso
from graphql_api.context import Context
from graphql_api.errors import AppError, ErrorCode, conflict, not_found
from graphql_api.media import repository as repo
from graphql_api.orgs.plans import Limits, limits_of
from graphql_api.store import keys, transact
from graphql_api.store.codec import Item
from graphql_api.store.errors import ConditionFailed, RetryableStoreError

MAX_LIVE_UPLOADS = 100
MAX_ATTEMPTS = 5


def limit_error(message: str, **extensions: Any) -> AppError:
    return AppError(ErrorCode.LIMIT_EXCEEDED, message, **extensions)


def check_size(size: int, limits: Limits) -> None:
    if limits.max_file_bytes is not None and size > limits.max_file_bytes:
        raise limit_error(
            f"The plan allows files of at most {limits.max_file_bytes} bytes",
            limit=limits.max_file_bytes,
        )


def _seq_op(org_id: str, org: Item) -> dict[str, Any]:
    """Bump `uploadSeq`, conditioned on the value read (see the module docstring)."""
    seq = org.get("uploadSeq")
    if seq is None:
        condition, values = "attribute_not_exists(uploadSeq)", {":one": 1}
    else:
        condition, values = "uploadSeq = :seq", {":one": 1, ":seq": seq}
    return transact.update(
        keys.org(org_id),
        "ADD uploadSeq :one",
        values=values,
        condition=f"attribute_exists(pk) AND {condition}",
    )


def usage_op(org_id: str, size: int, quota: int | None) -> dict[str, Any]:
    """Move a completed upload's bytes into `storageBytes`, within the quota (the plan may
    have shrunk since the reservation). Bumping `uploadSeq` makes a createUpload that read
    the usage before this commit check again."""
    values: dict[str, Any] = {":one": 1, ":size": size}
    condition = "attribute_exists(pk)"
    if quota is not None:
        condition += " AND (attribute_not_exists(storageBytes) OR storageBytes <= :room)"
        values[":room"] = quota - size
    return transact.update(
        keys.org(org_id),
        "ADD uploadSeq :one, storageBytes :size",
        values=values,
        condition=condition,
    )


async def reserve(ctx: Context, org_id: str, org: Item, upload: Item) -> None:
    size = upload["size"]
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            await asyncio.sleep(random.uniform(0, 0.01 * (attempt + 1)))
            fresh = await repo.org_consistent(ctx, org_id)
            if fresh is None:
                raise not_found("Organization")
            org = fresh
        limits = limits_of(org["plan"])
        check_size(size, limits)
        live = await repo.live_pending(ctx, org_id, now_iso(), MAX_LIVE_UPLOADS)
        if len(live) >= MAX_LIVE_UPLOADS:
            raise limit_error(
                f"At most {MAX_LIVE_UPLOADS} uploads may be in progress at once",
                limit=MAX_LIVE_UPLOADS,
            )
        used = int(org.get("storageBytes", 0)) + sum(int(m["size"]) for m in live)
        quota = limits.storage_bytes
        if quota is not None and used + size > quota:
            raise limit_error(
                "The organization's file storage is full", limit=quota, used=used, size=size
            )
        ops = [
            _seq_op(org_id, org),
            transact.put_new(upload),
            transact.put_new(repo.marker_item(upload)),
        ]
        try:
            await ctx.store.transact(ops)
        except ConditionFailed as exc:
            if exc.failed_index() == 0:
                continue
            raise
        except RetryableStoreError:
            continue
        return
    raise conflict("Uploads are starting fast in this organization; retry")

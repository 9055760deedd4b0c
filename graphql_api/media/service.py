"""Business rules of uploads and files.

createUpload reserves quota and hands out a presigned POST; the browser sends the bytes to
S3; completeUpload checks with HeadObject what arrived and, in one TransactWriteItems, marks
the file READY, moves its bytes into the organization's usage (with a quota condition),
attaches it to its target and writes the audit entry (for runs: with the run event, published
after the commit, through runs.attachments).

Quota. Usage is `storageBytes` on the org item plus the sizes of the live pending-upload
markers (repository docstring). Two concurrent createUploads must not both fit into the same
free space, so each one conditions its commit on the org's `uploadSeq` as read before the
check (and bumps it); so does each completion, which moves bytes from a marker into
`storageBytes` between our two reads. A failed condition means "re-read and re-check", never
"write anyway".

Objects. An upload's object carries the tag upload=pending until completion accepts it; the
bucket's lifecycle rule deletes tagged objects after a day, so an abandoned upload leaves
nothing behind in S3 either (its items expire through TTL, and reads check expiry).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from graphql_api.audit.service import entry_op
from graphql_api.common.ids import new_id, to_global_id
from graphql_api.common.time import iso, now_iso, parse_iso, utcnow
from graphql_api.context import Context
from graphql_api.errors import AppError, ErrorCode, bad_input, conflict, forbidden, not_found
from graphql_api.media import repository as repo
from graphql_api.media import rules, targets
from graphql_api.orgs.plans import Limits, limits_of
from graphql_api.rbac.roles import Role
from graphql_api.runs import attachments
from graphql_api.store import keys, s3, transact
from graphql_api.store.codec import Item
from graphql_api.store.errors import ConditionFailed, RetryableStoreError

PENDING, READY, REJECTED, EXPIRED = "PENDING", "READY", "REJECTED", "EXPIRED"
FORM_TTL = timedelta(minutes=10)
# The form must be used within FORM_TTL; a large file may still be arriving when it lapses.
COMPLETE_GRACE = timedelta(minutes=5)
DOWNLOAD_TTL_SECONDS = 300
# Pending and rejected records stay a day for support, then TTL deletes them.
RECORD_RETENTION = timedelta(days=1)
MAX_LIVE_UPLOADS = 100
MAX_ATTEMPTS = 5
PENDING_TAGS = dict([s3.PENDING_TAG])
# Replaces the pending tag (the lifecycle rule matches upload=pending only).
READY_TAGS = {s3.PENDING_TAG[0]: "complete"}


def status_of(item: Item) -> str:
    """The stored status, with EXPIRED derived for a pending upload past its expiry."""
    status: str = item["status"]
    if status == PENDING and parse_iso(item["expiresAt"]) <= utcnow():
        return EXPIRED
    return status


def file_global_id(item: Item) -> str:
    return to_global_id("File", item["orgId"], item["id"])


def _limit(message: str, **extensions: Any) -> AppError:
    return AppError(ErrorCode.LIMIT_EXCEEDED, message, **extensions)


def _check_size(size: int, limits: Limits) -> None:
    if limits.max_file_bytes is not None and size > limits.max_file_bytes:
        raise _limit(
            f"The plan allows files of at most {limits.max_file_bytes} bytes",
            limit=limits.max_file_bytes,
        )


# createUpload -------------------------------------------------------------------------
@dataclass(frozen=True)
class NewUpload:
    """A pending upload and the form that sends its bytes to S3."""

    item: Item
    post: s3.PresignedPost
    form_expires_at: datetime


async def create_upload(
    ctx: Context,
    org_id: str,
    target: Item,
    filename: str,
    content_type: str,
    size: int,
) -> NewUpload:
    ctype = rules.content_type(content_type)
    if ctype is None:
        raise bad_input("This type of file is not accepted", argument="contentType")
    if size < 1:
        raise bad_input("size must be at least 1 byte", argument="size")
    org = await repo.org_consistent(ctx, org_id)
    if org is None:
        raise not_found("Organization")
    _check_size(size, limits_of(org["plan"]))
    await targets.check_upload(ctx, org_id, target, ctype)
    display = rules.display_name(filename)
    fid, now = new_id(), utcnow()
    form_expires = now + FORM_TTL
    expires = form_expires + COMPLETE_GRACE
    upload = repo.upload_item(
        org_id,
        fid,
        object_key=keys.file_object(org_id, fid, rules.key_name(display)),
        filename=display,
        content_type=ctype,
        size=size,
        uploader=ctx.user_id,
        target=target,
        created_at=iso(now),
        expires_at=iso(expires),
        ttl=repo.epoch(expires + RECORD_RETENTION),
    )
    await _reserve(ctx, org_id, org, upload)
    post = await s3.presigned_post(
        ctx.store,
        upload["objectKey"],
        ctype,
        size,
        int(FORM_TTL.total_seconds()),
        tags=PENDING_TAGS,
    )
    return NewUpload(upload, post, form_expires)


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


def _usage_op(org_id: str, size: int, quota: int | None) -> dict[str, Any]:
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


async def _reserve(ctx: Context, org_id: str, org: Item, upload: Item) -> None:
    size = upload["size"]
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            await asyncio.sleep(random.uniform(0, 0.01 * (attempt + 1)))
            fresh = await repo.org_consistent(ctx, org_id)
            if fresh is None:
                raise not_found("Organization")
            org = fresh
        limits = limits_of(org["plan"])
        _check_size(size, limits)
        live = await repo.live_pending(ctx, org_id, now_iso(), MAX_LIVE_UPLOADS)
        if len(live) >= MAX_LIVE_UPLOADS:
            raise _limit(
                f"At most {MAX_LIVE_UPLOADS} uploads may be in progress at once",
                limit=MAX_LIVE_UPLOADS,
            )
        used = int(org.get("storageBytes", 0)) + sum(int(m["size"]) for m in live)
        quota = limits.storage_bytes
        if quota is not None and used + size > quota:
            raise _limit(
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


# completeUpload -----------------------------------------------------------------------
class _Refused(Exception):
    """Internal: the upload cannot become a file; it is rejected with this error."""

    def __init__(self, error: AppError) -> None:
        super().__init__(error.message)
        self.error = error


async def own_upload(ctx: Context, org_id: str, fid: str) -> Item:
    """The caller's upload (consistent); anyone else's is NOT_FOUND."""
    item = await repo.get_consistent(ctx, org_id, fid)
    if item is None or item["uploaderId"] != ctx.user_id:
        raise not_found("Upload")
    return item


def _mismatch(upload: Item, info: s3.ObjectInfo, limits: Limits) -> str | None:
    if info.size != upload["size"]:
        return f"The uploaded file has {info.size} bytes, not the {upload['size']} declared"
    if info.content_type != upload["contentType"]:
        return "The uploaded file's type is not the one declared"
    if limits.max_file_bytes is not None and info.size > limits.max_file_bytes:
        return f"The plan allows files of at most {limits.max_file_bytes} bytes"
    return None


async def complete_upload(ctx: Context, org_id: str, fid: str) -> Item:
    upload = await own_upload(ctx, org_id, fid)
    status = status_of(upload)
    if status == READY:
        return upload  # a retried completion gets the same answer
    if status == EXPIRED:
        await _discard(ctx, upload, EXPIRED, "The upload expired before it was completed")
        raise bad_input("This upload expired; start a new one", status=EXPIRED)
    if status != PENDING:
        raise bad_input(f"This upload is {status.lower()}", status=status)
    info = await s3.head(ctx.store, upload["objectKey"])
    if info is None:
        raise bad_input("Nothing has been uploaded for this upload yet", status=PENDING)
    org = await repo.org_consistent(ctx, org_id)
    if org is None:
        raise not_found("Organization")
    limits = limits_of(org["plan"])
    problem = _mismatch(upload, info, limits)
    if problem is not None:
        await _discard(ctx, upload, REJECTED, problem)
        raise bad_input(problem, status=REJECTED)
    # Untag first: a READY file must never carry the tag that expires it.
    await s3.set_tags(ctx.store, upload["objectKey"], READY_TAGS)
    try:
        return await _commit_ready(ctx, upload, limits)
    except _Refused as refused:
        await _discard(ctx, upload, REJECTED, refused.error.message)
        raise refused.error from None
    except BaseException:
        with contextlib.suppress(Exception):
            await s3.set_tags(ctx.store, upload["objectKey"], PENDING_TAGS)
        raise


async def _commit_ready(ctx: Context, upload: Item, limits: Limits) -> Item:
    org_id, fid, size = upload["orgId"], upload["id"], upload["size"]
    target = upload["target"]
    at = now_iso()
    listing = keys.file_listing(org_id, targets.listing_key(target), at, fid)
    ready_op = transact.update(
        keys.file(org_id, fid),
        "SET #s = :ready, completedAt = :at, gsi1pk = :gpk, gsi1sk = :gsk REMOVE #ttl",
        names={"#s": "status", "#ttl": "ttl"},
        values={
            ":ready": READY,
            ":pending": PENDING,
            ":at": at,
            ":gpk": listing["gsi1pk"],
            ":gsk": listing["gsi1sk"],
        },
        condition="#s = :pending AND expiresAt > :at",
    )
    quota = limits.storage_bytes
    ops = [
        ready_op,
        transact.delete(keys.pending_upload(org_id, upload["expiresAt"], fid)),
        _usage_op(org_id, size, quota),
        entry_op(
            ctx,
            org_id,
            "file.uploaded",
            "File",
            fid,
            {"filename": upload["filename"], "size": size, "target": target},
        ),
    ]
    try:
        if target["kind"] in targets.RUN_KINDS:
            try:
                await attachments.change_files(
                    ctx,
                    org_id,
                    target["id"],
                    target.get("itemId"),
                    file_global_id(upload),
                    attach=True,
                    extra_ops=ops,
                )
            except AppError as exc:
                if exc.code is ErrorCode.CONFLICT:
                    raise
                raise _Refused(exc) from exc
        else:
            await ctx.store.transact([*ops, targets.exists_check(org_id, target)])
    except ConditionFailed as exc:
        failed = exc.failed_index()
        if failed == 0:
            current = await repo.get_consistent(ctx, org_id, fid)
            if current is not None and current["status"] == READY:
                return current
            raise _Refused(bad_input("This upload is no longer pending")) from exc
        if failed == 2:
            raise _Refused(_limit("The organization's file storage is full", limit=quota)) from exc
        if failed == len(ops):
            raise _Refused(not_found(targets.ID_TYPES[target["kind"]])) from exc
        raise
    ctx.forget(keys.file(org_id, fid))
    ctx.forget(keys.org(org_id))
    return {**upload, "status": READY, "completedAt": at, "ttl": None}


async def _discard(ctx: Context, upload: Item, status: str, reason: str) -> None:
    """End a pending upload without a file: its record says why, its marker goes (the
    quota stops counting it) and then its object (only if this call ended it)."""
    org_id, fid = upload["orgId"], upload["id"]
    ops = [
        transact.update(
            keys.file(org_id, fid),
            "SET #s = :st, reason = :r, #ttl = :ttl",
            names={"#s": "status", "#ttl": "ttl"},
            values={
                ":st": status,
                ":r": reason,
                ":ttl": repo.epoch(utcnow() + RECORD_RETENTION),
                ":pending": PENDING,
            },
            condition="#s = :pending",
        ),
        transact.delete(keys.pending_upload(org_id, upload["expiresAt"], fid)),
        entry_op(ctx, org_id, f"file.{status.lower()}", "File", fid, {"reason": reason}),
    ]
    try:
        await ctx.store.transact(ops)
    except ConditionFailed:
        return  # another call ended (or completed) it: its object is not ours to delete
    ctx.forget(keys.file(org_id, fid))
    await s3.delete(ctx.store, upload["objectKey"])


# files --------------------------------------------------------------------------------
async def require_file(ctx: Context, org_id: str, fid: str) -> Item:
    item = await repo.get(ctx, org_id, fid)
    if item is None or item["status"] != READY:
        raise not_found("File")
    return item


async def delete_file(ctx: Context, org_id: str, fid: str) -> Item:
    """Its uploader or MANAGER+; the usage goes back and the object is deleted."""
    item = await repo.get_consistent(ctx, org_id, fid)
    if item is None or item["status"] != READY:
        raise not_found("File")
    role = await ctx.role_in(org_id)
    if item["uploaderId"] != ctx.user_id and not (role and role.at_least(Role.MANAGER)):
        raise forbidden("Only its uploader or a MANAGER+ deletes a file")
    target = item["target"]
    ops = [
        transact.delete(keys.file(org_id, fid), condition="attribute_exists(pk)"),
        transact.update(keys.org(org_id), "ADD storageBytes :d", values={":d": -item["size"]}),
        entry_op(
            ctx,
            org_id,
            "file.deleted",
            "File",
            fid,
            {"filename": item["filename"], "target": target},
        ),
    ]
    try:
        if target["kind"] in targets.RUN_KINDS:
            await attachments.change_files(
                ctx,
                org_id,
                target["id"],
                target.get("itemId"),
                file_global_id(item),
                attach=False,
                extra_ops=ops,
            )
        else:
            await ctx.store.transact(ops)
    except ConditionFailed as exc:
        if exc.failed_index() == 0:
            raise not_found("File") from exc
        raise
    ctx.forget(keys.file(org_id, fid))
    ctx.forget(keys.org(org_id))
    await s3.delete(ctx.store, item["objectKey"])
    return item


async def download_url(ctx: Context, item: Item) -> str:
    """A short-lived GET of the file as an attachment under its original name."""
    return await s3.presigned_get(
        ctx.store,
        item["objectKey"],
        DOWNLOAD_TTL_SECONDS,
        rules.content_disposition(item["filename"]),
        item["contentType"],
    )

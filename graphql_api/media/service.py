"""Business rules of uploads and files.

createUpload reserves quota and hands out a presigned POST; the browser sends the bytes to
S3; completeUpload checks with HeadObject what arrived and, in one TransactWriteItems, marks
the file READY, moves its bytes into the organization's usage (with a quota condition),
attaches it to its target and writes the audit entry (for runs: with the run event, published
after the commit, through runs.attachments).

Quota: see `media.quota`.

Objects. An upload's object carries the tag upload=pending until completion accepts it; the
bucket's lifecycle rule deletes tagged objects after a day, so an abandoned upload leaves
nothing behind in S3 either (its items expire through TTL, and reads check expiry).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from graphql_api.audit.service import entry_op
from graphql_api.common.ids import new_id, to_global_id
from graphql_api.common.time import iso, now_iso, parse_iso, utcnow
from graphql_api.context import Context
from graphql_api.errors import AppError, ErrorCode, bad_input, forbidden, not_found
from graphql_api.media import quota, rules, targets
from graphql_api.media import repository as repo
from graphql_api.orgs.plans import Limits, limits_of
from graphql_api.rbac.roles import Role
from graphql_api.runs import attachments
from graphql_api.store import keys, s3, transact
from graphql_api.store.codec import Item
from graphql_api.store.errors import ConditionFailed

PENDING, READY, REJECTED, EXPIRED = "PENDING", "READY", "REJECTED", "EXPIRED"
FORM_TTL = timedelta(minutes=10)
# The form must be used within FORM_TTL; a large file may still be arriving when it lapses.
COMPLETE_GRACE = timedelta(minutes=5)
DOWNLOAD_TTL_SECONDS = 300
# Pending and rejected records stay a day for support, then TTL deletes them.
RECORD_RETENTION = timedelta(days=1)
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
    quota.check_size(size, limits_of(org["plan"]))
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
    await quota.reserve(ctx, org_id, org, upload)
    post = await s3.presigned_post(
        ctx.store,
        upload["objectKey"],
        ctype,
        size,
        int(FORM_TTL.total_seconds()),
        tags=PENDING_TAGS,
    )
    return NewUpload(upload, post, form_expires)


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
    # Access may have changed since createUpload (unassigned, demoted, target deleted).
    await targets.check_upload(ctx, org_id, upload["target"], upload["contentType"])
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
    storage_limit = limits.storage_bytes
    ops = [
        ready_op,
        transact.delete(keys.pending_upload(org_id, upload["expiresAt"], fid)),
        quota.usage_op(org_id, size, storage_limit),
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
            full = quota.limit_error("The organization's file storage is full", limit=storage_limit)
            raise _Refused(full) from exc
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

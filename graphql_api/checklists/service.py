"""Business rules of checklists: DRAFT -> PUBLISHED -> ARCHIVED, versions, plan limits.

The head item holds the editable checklist and `version`, bumped by every change (the
optimistic-concurrency token clients send back). Publishing writes an immutable snapshot
numbered `publishedVersion`; editing a PUBLISHED checklist writes the next snapshot in the
same transaction, so new runs see the edit and runs already started keep their snapshot.
"""

from __future__ import annotations

from typing import Any

from graphql_api.audit.service import entry_op
from graphql_api.checklists import repository as repo
from graphql_api.checklists.items import normalize_items
from graphql_api.common.ids import new_id
from graphql_api.common.time import now_iso
from graphql_api.context import Context
from graphql_api.errors import AppError, ErrorCode, bad_input, conflict, not_found
from graphql_api.orgs.plans import limits_of
from graphql_api.store import keys, transact
from graphql_api.store.codec import Item
from graphql_api.store.errors import ConditionFailed

DRAFT, PUBLISHED, ARCHIVED = "DRAFT", "PUBLISHED", "ARCHIVED"
MAX_TITLE = 200
MAX_DESCRIPTION = 2000


def _title(value: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= MAX_TITLE:
        raise bad_input(f"title must be 1 to {MAX_TITLE} characters", argument="title")
    return value


def _description(value: str | None) -> str | None:
    value = (value or "").strip()
    if len(value) > MAX_DESCRIPTION:
        raise bad_input(
            f"description must be at most {MAX_DESCRIPTION} characters", argument="description"
        )
    return value or None


def _stale(current: Item | None) -> AppError:
    if current is None:
        return not_found("Checklist")
    return conflict(
        "The checklist changed meanwhile; reload it and retry",
        currentVersion=current["version"],
    )


def _head_put(new: Item, expected: Item) -> dict[str, Any]:
    """Replace the head only if nobody changed it since we read it."""
    return transact.put(
        new,
        condition="#v = :v AND #s = :s",
        names={"#v": "version", "#s": "status"},
        values={":v": expected["version"], ":s": expected["status"]},
    )


async def _commit(ctx: Context, org_id: str, cid: str, ops: list[dict[str, Any]]) -> None:
    try:
        await ctx.store.transact(ops)
    except ConditionFailed as exc:
        raise _stale(await repo.get_checklist_consistent(ctx, org_id, cid)) from exc
    ctx.forget(keys.checklist(org_id, cid))


def _counter_op(org_id: str, delta: int, limit: int | None) -> dict[str, Any]:
    if delta > 0 and limit is not None:
        return transact.update(
            keys.org(org_id),
            "ADD checklistCount :d",
            values={":d": delta, ":max": limit},
            condition="attribute_exists(pk) AND checklistCount < :max",
        )
    return transact.update(
        keys.org(org_id), "ADD checklistCount :d", values={":d": delta}, condition=None
    )


# exported to other domains (assignments, runs) ------------------------------
async def require_checklist(ctx: Context, org_id: str, checklist_id: str) -> Item:
    """The head item, or NOT_FOUND (also for another tenant's checklist)."""
    item = await repo.get_checklist(ctx, org_id, checklist_id)
    if item is None:
        raise not_found("Checklist")
    return item


async def get_published(
    ctx: Context, org_id: str, checklist_id: str, version: int | None = None
) -> Item:
    """A published snapshot: `version`, or the latest one of a non-archived checklist."""
    head = await require_checklist(ctx, org_id, checklist_id)
    if version is None:
        if head["status"] == ARCHIVED or not head.get("publishedVersion"):
            raise bad_input("checklist is not published", argument="checklistId")
        version = int(head["publishedVersion"])
    snapshot = await repo.get_version(ctx, org_id, checklist_id, version)
    if snapshot is None:
        raise not_found("Checklist version")
    return snapshot


# mutations ------------------------------------------------------------------
async def create_checklist(
    ctx: Context,
    org_id: str,
    title: str,
    description: str | None,
    items: list[dict[str, Any]],
) -> Item:
    org = await ctx.load(keys.org(org_id))
    if org is None:
        raise not_found("Organization")
    limit = limits_of(org["plan"]).checklists
    cid = new_id()
    at = now_iso()
    head: Item = {
        **keys.checklist(org_id, cid),
        "entity": "Checklist",
        "id": cid,
        "orgId": org_id,
        "title": _title(title),
        "description": _description(description),
        "status": DRAFT,
        "version": 1,
        "publishedVersion": None,
        "items": normalize_items(items),
        "createdBy": ctx.user_id,
        "createdAt": at,
        "updatedAt": at,
    }
    ops = [
        transact.put_new(head),
        _counter_op(org_id, 1, limit),
        entry_op(
            ctx,
            org_id,
            "checklist.created",
            "Checklist",
            cid,
            {"title": head["title"], "items": len(head["items"])},
        ),
    ]
    try:
        await ctx.store.transact(ops)
    except ConditionFailed as exc:
        if exc.failed_index() == 1:
            raise AppError(
                ErrorCode.LIMIT_EXCEEDED,
                f"The plan allows at most {limit} checklists",
                limit=limit,
            ) from exc
        raise
    ctx.forget(keys.org(org_id))
    return head


async def update_checklist(
    ctx: Context,
    org_id: str,
    cid: str,
    expected_version: int,
    title: str | None,
    description: str | None,
    items: list[dict[str, Any]] | None,
) -> Item:
    head = await require_checklist(ctx, org_id, cid)
    if expected_version != head["version"]:
        raise _stale(head)
    if head["status"] == ARCHIVED:
        raise bad_input("An archived checklist cannot be edited")
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = _title(title)
    if description is not None:
        changes["description"] = _description(description)
    if items is not None:
        changes["items"] = normalize_items(items)
    if not changes:
        return head
    at = now_iso()
    new = {**head, **changes, "version": head["version"] + 1, "updatedAt": at}
    details: dict[str, Any] = {"version": new["version"], "fields": sorted(changes)}
    snapshot_ops = []
    if head["status"] == PUBLISHED:
        if not new["items"]:
            raise bad_input("A published checklist needs at least one item", argument="items")
        new["publishedVersion"] = details["publishedVersion"] = int(head["publishedVersion"]) + 1
        snapshot_ops.append(transact.put_new(repo.snapshot_item(new, new["publishedVersion"], at)))
    ops = [
        _head_put(new, head),
        *snapshot_ops,
        entry_op(ctx, org_id, "checklist.updated", "Checklist", cid, details),
    ]
    await _commit(ctx, org_id, cid, ops)
    return new


async def publish_checklist(
    ctx: Context, org_id: str, cid: str, expected_version: int | None
) -> Item:
    head = await require_checklist(ctx, org_id, cid)
    if expected_version is not None and expected_version != head["version"]:
        raise _stale(head)
    if head["status"] == PUBLISHED:
        return head
    if head["status"] == ARCHIVED:
        raise bad_input("An archived checklist cannot be published")
    if not head["items"]:
        raise bad_input("A checklist needs at least one item to be published")
    at = now_iso()
    number = int(head.get("publishedVersion") or 0) + 1
    new = {
        **head,
        "status": PUBLISHED,
        "publishedVersion": number,
        "version": head["version"] + 1,
        "updatedAt": at,
    }
    ops = [
        _head_put(new, head),
        transact.put_new(repo.snapshot_item(new, number, at)),
        entry_op(
            ctx, org_id, "checklist.published", "Checklist", cid, {"publishedVersion": number}
        ),
    ]
    await _commit(ctx, org_id, cid, ops)
    return new


async def archive_checklist(ctx: Context, org_id: str, cid: str) -> Item:
    head = await require_checklist(ctx, org_id, cid)
    if head["status"] == ARCHIVED:
        return head
    at = now_iso()
    new = {**head, "status": ARCHIVED, "version": head["version"] + 1, "updatedAt": at}
    ops = [
        _head_put(new, head),
        # Archived checklists do not count against the plan.
        _counter_op(org_id, -1, None),
        entry_op(ctx, org_id, "checklist.archived", "Checklist", cid, {"before": head["status"]}),
    ]
    await _commit(ctx, org_id, cid, ops)
    ctx.forget(keys.org(org_id))
    return new

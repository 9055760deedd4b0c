"""DynamoDB items of checklists (heads) and their published version snapshots."""

from __future__ import annotations

from typing import Any

from graphql_api.context import Context
from graphql_api.store import keys
from graphql_api.store.client import Page
from graphql_api.store.codec import Item


async def get_checklist(ctx: Context, org_id: str, cid: str) -> Item | None:
    return await ctx.load(keys.checklist(org_id, cid))


async def get_version(ctx: Context, org_id: str, cid: str, version: int) -> Item | None:
    return await ctx.load(keys.checklist_version(org_id, cid, version))


async def get_checklist_consistent(ctx: Context, org_id: str, cid: str) -> Item | None:
    return await ctx.store.get(keys.checklist(org_id, cid), consistent=True)


async def page_checklists(
    ctx: Context, org_id: str, limit: int, start: dict[str, Any] | None
) -> Page:
    return await ctx.store.query(
        keys.org_pk(org_id), sk_prefix=keys.CHECKLIST_PREFIX, limit=limit, start_key=start
    )


async def page_versions(
    ctx: Context, org_id: str, cid: str, limit: int, start: dict[str, Any] | None
) -> Page:
    """Newest version first."""
    return await ctx.store.query(
        keys.org_pk(org_id),
        sk_prefix=keys.checklist_versions_prefix(cid),
        limit=limit,
        start_key=start,
        forward=False,
    )


def snapshot_item(head: Item, version: int, at: str) -> Item:
    """The immutable copy of a checklist that runs started on `version` keep using."""
    return {
        **keys.checklist_version(head["orgId"], head["id"], version),
        "entity": "ChecklistVersion",
        "orgId": head["orgId"],
        "checklistId": head["id"],
        "version": version,
        "title": head["title"],
        "description": head.get("description"),
        "items": head["items"],
        "publishedAt": at,
    }

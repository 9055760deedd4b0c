"""DynamoDB items of runs: META, per-item state, events (one per run version) and comments,
all in the run's partition ORG#<oid>#RUN#<rid>; the org's runs on gsi1, newest first."""

from __future__ import annotations

from typing import Any

from graphql_api.context import Context
from graphql_api.store import keys
from graphql_api.store.client import Page
from graphql_api.store.codec import Item

LAST_EVENT_VERSION = 10**10 - 1


async def get(ctx: Context, org_id: str, rid: str) -> Item | None:
    return await ctx.load(keys.run_key(org_id, rid))


async def get_consistent(ctx: Context, org_id: str, rid: str) -> Item | None:
    return await ctx.store.get(keys.run_key(org_id, rid), consistent=True)


async def state_consistent(ctx: Context, org_id: str, rid: str, item_id: str) -> Item | None:
    return await ctx.store.get(keys.run_item(org_id, rid, item_id), consistent=True)


async def states_consistent(ctx: Context, org_id: str, rid: str) -> list[Item]:
    return await ctx.store.query_all(
        keys.run_pk(org_id, rid), sk_prefix=keys.RUN_ITEM_PREFIX, consistent=True
    )


async def events_after(
    ctx: Context,
    org_id: str,
    rid: str,
    after_version: int,
    limit: int | None = None,
    start: dict[str, Any] | None = None,
) -> Page:
    """Events with a version above `after_version`, oldest first (consistent: replay must not
    miss an event that was committed before the read)."""
    return await ctx.store.query(
        keys.run_pk(org_id, rid),
        sk_between=(keys.run_event_sk(after_version + 1), keys.run_event_sk(LAST_EVENT_VERSION)),
        limit=limit,
        start_key=start,
        consistent=True,
    )


async def page_comments(
    ctx: Context, org_id: str, rid: str, limit: int, start: dict[str, Any] | None
) -> Page:
    return await ctx.store.query(
        keys.run_pk(org_id, rid), sk_prefix=keys.RUN_COMMENT_PREFIX, limit=limit, start_key=start
    )


async def page_org_runs(
    ctx: Context, org_id: str, limit: int, start: dict[str, Any] | None
) -> Page:
    return await ctx.store.query(
        keys.org_runs_gsi(org_id), index="gsi1", limit=limit, start_key=start, forward=False
    )


async def org_members(ctx: Context, org_id: str) -> list[Item]:
    """Every member item of the org (resolving @email mentions; bounded by the plan)."""
    return await ctx.store.query_all(keys.org_pk(org_id), sk_prefix=keys.MEMBER_PREFIX)


def event_item(
    org_id: str,
    rid: str,
    version: int,
    kind: str,
    actor: str,
    at: str,
    item_id: str | None = None,
    before: Any = None,
    after: Any = None,
) -> Item:
    return {
        **keys.run_event(org_id, rid, version),
        "entity": "RunEvent",
        "runId": rid,
        "orgId": org_id,
        "version": version,
        "type": kind,
        "actorId": actor,
        "itemId": item_id,
        "before": before,
        "after": after,
        "at": at,
    }


def public(item: Item) -> Item:
    """An item without its table keys (what goes on the wire)."""
    return {k: v for k, v in item.items() if k not in ("pk", "sk", "gsi1pk", "gsi1sk")}

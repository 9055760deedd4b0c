"""DynamoDB items of persisted-query manifests and their operations."""

from __future__ import annotations

from typing import Any

from graphql_api.context import Context
from graphql_api.store import keys, transact
from graphql_api.store.client import Page
from graphql_api.store.codec import Item

# Operations are written in transactions of this many puts (DynamoDB allows 100 items).
WRITE_CHUNK = 100


async def get_manifest(ctx: Context, org_id: str, client: str) -> Item | None:
    return await ctx.load(keys.persisted_manifest(org_id, client))


async def get_manifest_consistent(ctx: Context, org_id: str, client: str) -> Item | None:
    return await ctx.store.get(keys.persisted_manifest(org_id, client), consistent=True)


async def get_operation(
    ctx: Context, org_id: str, client: str, manifest_id: str, op_id: str
) -> Item | None:
    return await ctx.load(keys.manifest_operation(org_id, client, manifest_id, op_id))


async def page_manifests(
    ctx: Context, org_id: str, limit: int, start: dict[str, Any] | None
) -> Page:
    return await ctx.store.query(
        keys.org_pk(org_id),
        sk_prefix=keys.PERSISTED_MANIFEST_PREFIX,
        limit=limit,
        start_key=start,
    )


async def page_operations(
    ctx: Context,
    org_id: str,
    client: str,
    manifest_id: str,
    limit: int,
    start: dict[str, Any] | None,
) -> Page:
    return await ctx.store.query(
        keys.org_pk(org_id),
        sk_prefix=keys.manifest_operations_prefix(client, manifest_id),
        limit=limit,
        start_key=start,
    )


async def put_operations(ctx: Context, items: list[Item]) -> None:
    for start in range(0, len(items), WRITE_CHUNK):
        await ctx.store.transact([transact.put(i) for i in items[start : start + WRITE_CHUNK]])


async def delete_operations(ctx: Context, org_id: str, client: str, manifest_id: str) -> int:
    """Delete one registration's operations (they are unreachable once the head moved on)."""
    items = await ctx.store.query_all(
        keys.org_pk(org_id), sk_prefix=keys.manifest_operations_prefix(client, manifest_id)
    )
    for start in range(0, len(items), WRITE_CHUNK):
        chunk = items[start : start + WRITE_CHUNK]
        await ctx.store.transact([transact.delete({"pk": i["pk"], "sk": i["sk"]}) for i in chunk])
    return len(items)

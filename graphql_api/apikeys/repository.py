"""DynamoDB items of API keys: the org-scoped key and its global lookup by prefix."""

from __future__ import annotations

from typing import Any

from graphql_api.context import Context
from graphql_api.store import keys
from graphql_api.store.client import Page
from graphql_api.store.codec import Item


async def get_key(ctx: Context, org_id: str, kid: str) -> Item | None:
    return await ctx.store.get(keys.api_key(org_id, kid), consistent=True)


async def get_lookup(ctx: Context, kid: str) -> Item | None:
    # Through the request's loader: authentication read it already.
    return await ctx.load(keys.api_key_lookup(kid))


async def page_keys(ctx: Context, org_id: str, limit: int, start: dict[str, Any] | None) -> Page:
    return await ctx.store.query(
        keys.org_pk(org_id), sk_prefix=keys.API_KEY_PREFIX, limit=limit, start_key=start
    )


def key_item(org_id: str, kid: str, name: str, role: str, client: str, by: str, at: str) -> Item:
    return {
        **keys.api_key(org_id, kid),
        "entity": "ApiKey",
        "id": kid,
        "orgId": org_id,
        "name": name,
        "role": role,
        "clientName": client,
        "status": "ACTIVE",
        "createdAt": at,
        "createdBy": by,
    }


def lookup_item(key: Item, secret_hash: str) -> Item:
    """What authentication needs, in one global item read by prefix."""
    return {
        **keys.api_key_lookup(key["id"]),
        "entity": "ApiKeyLookup",
        "keyId": key["id"],
        "orgId": key["orgId"],
        "name": key["name"],
        "role": key["role"],
        "clientName": key["clientName"],
        "secretHash": secret_hash,
    }

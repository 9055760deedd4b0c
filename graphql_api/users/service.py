"""User profiles, provisioned the first time a token's `sub` is seen."""

from __future__ import annotations

from graphql_api.common.time import now_iso
from graphql_api.context import Context
from graphql_api.store import keys
from graphql_api.store.codec import Item
from graphql_api.store.errors import ConditionFailed


async def ensure_user(ctx: Context) -> Item:
    """The caller's profile, created from the token's claims on first sight."""
    principal = ctx.require_principal()
    key = keys.user(principal.id)
    item = await ctx.load(key)
    if item is not None:
        return item
    item = {
        **key,
        "entity": "User",
        "id": principal.id,
        "email": principal.email,
        "name": principal.name,
        "createdAt": now_iso(),
        "unreadCount": 0,
    }
    try:
        await ctx.store.put(item, condition="attribute_not_exists(pk)")
    except ConditionFailed:
        # Another request of the same new user created it first.
        ctx.forget(key)
        created = await ctx.store.get(key, consistent=True)
        return created or item
    ctx.loader.prime((key["pk"], key["sk"]), item, force=True)
    return item

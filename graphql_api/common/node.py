"""`node(id)` resolution: each domain registers how to load its Node types."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from graphql_api.common.ids import GlobalId, from_global_id
from graphql_api.context import Context
from graphql_api.errors import not_found

NodeResolver = Callable[[Context, GlobalId], Awaitable[Any | None]]
_RESOLVERS: dict[str, NodeResolver] = {}


def register_node(type_name: str, resolver: NodeResolver) -> None:
    _RESOLVERS[type_name] = resolver


def node_types() -> list[str]:
    return sorted(_RESOLVERS)


def decode_in_org(ctx: Context, value: str, *type_names: str) -> GlobalId:
    """Decode a global ID of one of `type_names`; anything else is NOT_FOUND."""
    gid = from_global_id(value)
    if type_names and gid.type_name not in type_names:
        raise not_found(type_names[0])
    return gid


async def resolve_node(ctx: Context, value: str) -> Any:
    """Tenant check first: an object of an org the caller is not in is NOT_FOUND."""
    ctx.require_principal()
    gid = from_global_id(value)
    resolver = _RESOLVERS.get(gid.type_name)
    if resolver is None:
        raise not_found("Object")
    if gid.org_id and await ctx.role_in(gid.org_id) is None:
        raise not_found(gid.type_name)
    node = await resolver(ctx, gid)
    if node is None:
        raise not_found(gid.type_name)
    return node

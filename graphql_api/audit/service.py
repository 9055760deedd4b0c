"""Audit entries: written inside the transaction of the change they describe."""

from __future__ import annotations

from typing import Any

from graphql_api.common.ids import new_id
from graphql_api.common.time import now_iso
from graphql_api.context import Context
from graphql_api.store import keys, transact
from graphql_api.store.client import Page
from graphql_api.store.pagination import page_size


def entry_op(
    ctx: Context,
    org_id: str,
    action: str,
    entity_type: str,
    entity_id: str,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A transaction Put of one audit entry (the caller adds it to its TransactWriteItems)."""
    principal = ctx.require_principal()
    at = now_iso()
    eid = new_id()
    item = {
        **keys.audit_entry(org_id, at, eid, entity_id, principal.id),
        "entity": "AuditEntry",
        "id": eid,
        "orgId": org_id,
        "action": action,
        "entityType": entity_type,
        "entityId": entity_id,
        "actorId": principal.id,
        "actorKind": "api_key" if principal.is_api_key else "user",
        "at": at,
        "details": details or {},
        "requestId": ctx.request_id,
    }
    return transact.put(item)


async def list_entries(
    ctx: Context,
    org_id: str,
    *,
    first: int | None,
    after: str | None,
    since: str | None,
    until: str | None,
    actor_id: str | None,
    entity_id: str | None,
) -> tuple[Page, int, str, str | None]:
    """Newest first; one Query on the table or on the entity/actor index."""
    size = page_size(first)
    scope = f"{org_id}:audit:{since}:{until}:{actor_id}:{entity_id}"
    index: str | None = None
    pk = keys.audit_pk(org_id)
    filter_expr = None
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    if entity_id:
        index, pk = "gsi1", keys.audit_entity_gsi(org_id, entity_id)
        if actor_id:
            filter_expr, names, values = "#a = :a", {"#a": "actorId"}, {":a": actor_id}
    elif actor_id:
        index, pk = "gsi2", keys.audit_actor_gsi(org_id, actor_id)
    low = since or ""
    high = (until or "") + keys.MAX_SORT if until else keys.MAX_SORT
    start = ctx.cursors.decode(after, scope) if after else None
    page = await ctx.store.query(
        pk,
        index=index,
        sk_between=(low, high),
        limit=size + 1,
        start_key=start,
        forward=False,
        filter_expr=filter_expr,
        names=names or None,
        values=values or None,
    )
    return page, size, scope, index

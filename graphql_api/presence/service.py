"""Business rules of presence: which entities, whose entry, what may change.

An entry belongs to one WebSocket connection: `updatePresence` must come over that socket
(it is the only thing that identifies the connection, and the socket's end is what removes
the entry at once).
"""

from __future__ import annotations

import math
from typing import Any

from strawberry.types.unset import UnsetType

from graphql_api.common.ids import from_global_id
from graphql_api.common.node import resolve_node
from graphql_api.context import Context
from graphql_api.errors import bad_input, not_found
from graphql_api.presence.inputs import CursorInput, UpdatePresenceInput
from graphql_api.presence.runtime import EntityRef, Entry, PresenceRuntime
from graphql_api.presence.types import PresenceStatus
from graphql_api.subscriptions.connection import LiveConnection

MAX_ID = 200
MAX_COORDINATE = 1e9


def runtime_of(ctx: Context) -> PresenceRuntime:
    runtime: PresenceRuntime = ctx.resources.extras["presence"]
    return runtime


async def entity_ref(ctx: Context, entity_id: str) -> EntityRef:
    """An existing entity of an org the caller is in (NOT_FOUND otherwise, like any node)."""
    gid = from_global_id(entity_id)
    if not gid.org_id:
        raise not_found(gid.type_name)
    await resolve_node(ctx, entity_id)
    return EntityRef(gid.org_id, entity_id)


def _short(value: str | None, name: str) -> str | None:
    if value is not None and not 1 <= len(value) <= MAX_ID:
        raise bad_input(f"{name} must be 1 to {MAX_ID} characters", argument=name)
    return value


def _cursor(value: CursorInput | None) -> dict[str, Any] | None:
    if value is None:
        return None
    for axis in (value.x, value.y):
        if not math.isfinite(axis) or abs(axis) > MAX_COORDINATE:
            raise bad_input("cursor coordinates must be finite numbers", argument="cursor")
    return {"x": value.x, "y": value.y, "elementId": _short(value.element_id, "elementId")}


def base_entry(ctx: Context) -> Entry:
    principal = ctx.require_principal()
    return {
        "userId": principal.id,
        "name": principal.name,
        "status": PresenceStatus.ACTIVE.value,
        "cursor": None,
        "focusedItemId": None,
    }


async def join(ctx: Context, conn: LiveConnection, ref: EntityRef) -> Entry:
    """Make this connection present on `ref` (kept as is when it already is)."""
    runtime = runtime_of(ctx)
    entry = runtime.entry_of(ref, conn.id)
    if entry is not None:
        return entry
    entry = await runtime.upsert(ref, conn.id, base_entry(ctx))
    _leave_with_connection(runtime, conn, ref)
    return entry


async def leave(ctx: Context, conn: LiveConnection, ref: EntityRef) -> None:
    conn.discard_on_close(("presence", ref))
    await runtime_of(ctx).leave(ref, conn.id)


async def update_presence(
    ctx: Context, conn: LiveConnection | None, data: UpdatePresenceInput
) -> Entry:
    # The entity first: a missing one answers NOT_FOUND like another tenant's, whatever the
    # transport.
    ref = await entity_ref(ctx, data.entity_id)
    if conn is None:
        raise bad_input("updatePresence must be sent over the WebSocket connection that is present")
    runtime = runtime_of(ctx)
    entry = dict(runtime.entry_of(ref, conn.id) or base_entry(ctx))
    if not isinstance(data.cursor, UnsetType):
        entry["cursor"] = _cursor(data.cursor)
    if not isinstance(data.focused_item_id, UnsetType):
        entry["focusedItemId"] = _short(data.focused_item_id, "focusedItemId")
    if not isinstance(data.status, UnsetType):
        entry["status"] = (data.status or PresenceStatus.ACTIVE).value
    entry = await runtime.upsert(ref, conn.id, entry)
    _leave_with_connection(runtime, conn, ref)
    return entry


def _leave_with_connection(runtime: PresenceRuntime, conn: LiveConnection, ref: EntityRef) -> None:
    async def cleanup() -> None:
        await runtime.leave(ref, conn.id)

    conn.on_close(("presence", ref), cleanup)

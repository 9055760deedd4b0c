"""presence(entityId): a snapshot of who is there, then join, update and leave events.

Subscribing over a WebSocket makes the connection present (one entry per connection); the
entry leaves when the subscription or the socket ends.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from graphql_api.common.ids import from_global_id
from graphql_api.context import Context
from graphql_api.errors import not_found
from graphql_api.presence import service
from graphql_api.presence.runtime import EntityRef, Entry
from graphql_api.presence.types import PresenceEntry, PresenceEvent, PresenceEventKind
from graphql_api.subscriptions.connection import connection_of
from graphql_api.subscriptions.stream import StreamClosed, open_stream


async def presence_events(ctx: Context, entity_id: str) -> AsyncGenerator[PresenceEvent, None]:
    gid = from_global_id(entity_id)
    if not gid.org_id:
        raise not_found(gid.type_name)
    ref = EntityRef(gid.org_id, entity_id)
    runtime = service.runtime_of(ctx)
    conn = connection_of(ctx)
    async with open_stream(ctx, [ref.channel], org_id=ref.org_id) as stream:
        # Checked again now that revocations are watched: one may have landed in between.
        await stream.check_access(gid.type_name)
        await service.entity_ref(ctx, entity_id)
        runtime.watch(ref)
        try:
            yield _snapshot(entity_id, await runtime.snapshot(ref))
            if conn is not None:
                await service.join(ctx, conn, ref)
            while True:
                try:
                    delivery = await stream.next()
                except StreamClosed:
                    return
                if delivery.resync:
                    # Events may be lost: a new snapshot replaces the client's list.
                    yield _snapshot(entity_id, await runtime.snapshot(ref))
                    continue
                event = _event(entity_id, delivery.data)
                if event is not None:
                    yield event
        finally:
            runtime.unwatch(ref)
            if conn is not None:
                await service.leave(ctx, conn, ref)


def _snapshot(entity_id: str, entries: list[Entry]) -> PresenceEvent:
    return PresenceEvent(
        kind=PresenceEventKind.SNAPSHOT,
        entity_id=strawberry.ID(entity_id),
        entry=None,
        entries=[PresenceEntry.from_dict(e) for e in entries],
    )


def _event(entity_id: str, data: object) -> PresenceEvent | None:
    if not isinstance(data, dict) or not isinstance(data.get("entry"), dict):
        return None
    try:
        kind = PresenceEventKind(data.get("kind"))
        entry = PresenceEntry.from_dict(data["entry"])
    except (KeyError, ValueError, TypeError):
        return None
    return PresenceEvent(kind=kind, entity_id=strawberry.ID(entity_id), entry=entry, entries=None)

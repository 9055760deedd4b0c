"""Presence runtime: who is on an entity (a run, a checklist...), their cursor and focused item.

One entry per WebSocket connection and entity, so one person on two devices shows twice.
Entries live in the presence store (Redis across replicas) with an expiry that this process
pushes forward on every heartbeat. A closed socket leaves at once; a replica that died stops
refreshing, and whichever replica sweeps the entity first publishes the leave (the sweep is
atomic, so exactly one does), within PRESENCE_TIMEOUT_SECONDS.

Events on `org:<org>:presence:<entity>` are JSON: {"kind": JOIN|UPDATE|LEAVE, "entry": {...}}.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from graphql_api.common.time import now_iso
from graphql_api.realtime import channels
from graphql_api.realtime.broadcast import EventHub
from graphql_api.realtime.presence_store import PresenceStore, PresenceWrite, now_ms

log = logging.getLogger(__name__)

Entry = dict[str, Any]


@dataclass(frozen=True, slots=True)
class EntityRef:
    """An entity someone can be present on (its global ID, within its organization)."""

    org_id: str
    entity_id: str

    @property
    def store_key(self) -> str:
        return f"{self.org_id}:{self.entity_id}"

    @property
    def channel(self) -> str:
        return channels.presence(self.org_id, self.entity_id)


class PresenceRuntime:
    """This process's presence entries, their heartbeat and the sweeps of watched entities."""

    def __init__(
        self, store: PresenceStore, hub: EventHub, *, heartbeat: float, timeout: float
    ) -> None:
        self._store = store
        self._hub = hub
        self._heartbeat = heartbeat
        # Refreshed every heartbeat, so a live owner's entry never gets within one
        # heartbeat of expiring, and a dead owner's is swept <= timeout after its last beat.
        self._ttl_ms = int((timeout - heartbeat) * 1000)
        self._local: dict[tuple[EntityRef, str], Entry] = {}
        self._watched: Counter[EntityRef] = Counter()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._beat(), name="presence-heartbeat")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # Leave politely so other replicas need not wait for the timeout.
        for ref, member in list(self._local):
            with contextlib.suppress(Exception):
                await self.leave(ref, member)
        await self._store.close()

    # entries ----------------------------------------------------------------
    def entry_of(self, ref: EntityRef, member: str) -> Entry | None:
        return self._local.get((ref, member))

    async def upsert(self, ref: EntityRef, member: str, entry: Entry) -> Entry:
        """Store this connection's entry and publish JOIN (new) or UPDATE."""
        entry = {**entry, "connectionId": member, "updatedAt": now_iso()}
        self._local[(ref, member)] = entry
        [added] = await self._store.put([self._write(ref, member, entry)])
        await self._publish(ref, "JOIN" if added else "UPDATE", entry)
        return entry

    async def leave(self, ref: EntityRef, member: str) -> None:
        entry = self._local.pop((ref, member), None)
        data = await self._store.remove(ref.store_key, member)
        if data is not None:
            await self._publish(ref, "LEAVE", _parse(data) or entry or {"connectionId": member})

    async def snapshot(self, ref: EntityRef) -> list[Entry]:
        entries = [_parse(d) for d in (await self._store.read(ref.store_key)).values()]
        return sorted((e for e in entries if e), key=lambda e: str(e.get("connectionId")))

    # watching -----------------------------------------------------------------
    def watch(self, ref: EntityRef) -> None:
        self._watched[ref] += 1

    def unwatch(self, ref: EntityRef) -> None:
        self._watched[ref] -= 1
        if self._watched[ref] <= 0:
            del self._watched[ref]

    async def sweep(self, ref: EntityRef) -> None:
        for member, data in (await self._store.sweep(ref.store_key)).items():
            await self._publish(ref, "LEAVE", _parse(data) or {"connectionId": member})

    # internals ----------------------------------------------------------------
    def _write(self, ref: EntityRef, member: str, entry: Entry) -> PresenceWrite:
        return PresenceWrite(ref.store_key, member, json.dumps(entry), now_ms() + self._ttl_ms)

    async def _publish(self, ref: EntityRef, kind: str, entry: Entry) -> None:
        await self._hub.publish(ref.channel, json.dumps({"kind": kind, "entry": entry}))

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat)
            try:
                await self._refresh()
                for ref in list(self._watched):
                    await self.sweep(ref)
            except Exception as exc:
                # Redis may be restarting; the next beat writes everything again.
                log.warning("presence heartbeat failed: %r", exc)

    async def _refresh(self) -> None:
        local = list(self._local.items())
        writes = [self._write(ref, member, entry) for (ref, member), entry in local]
        added = await self._store.put(writes)
        for ((ref, member), entry), was_added in zip(local, added, strict=True):
            if (ref, member) not in self._local:
                # It left while this write was in flight: take back what was just re-added.
                await self._store.remove(ref.store_key, member)
            elif was_added:
                # It had expired or Redis lost it (restart): watchers see it come back.
                await self._publish(ref, "JOIN", entry)


def _parse(data: str) -> Entry | None:
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None

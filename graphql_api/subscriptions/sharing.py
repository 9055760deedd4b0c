"""Execute a subscription event once per process for every subscriber with the same
selection, and encode its frame once (DESIGN.md "Real time", fan-out cost).

A payload that is the same object for every local subscriber (a run's step comes from the
process's feed) and whose result cannot depend on who is looking carries a `SharedResults`.
The executor then keys the event's result by (operation document, variables): the first
subscriber executes, the others get the same `ExecutionResult` (concurrent ones await the
same task). The WebSocket adapter then encodes that result's payload once and splices each
operation id into the same bytes.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any

from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class SharedResults:
    """Results of executing one shared payload, by (operation, variables)."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: dict[tuple[int, str], tuple[object, Any]] = {}


class _Reused:
    """Stands in for the per-event copy of the executor when the result is already known."""

    __slots__ = ("result",)

    def __init__(self, result: Any) -> None:
        self.result = result

    def execute_operation(self, serially: bool | None = None) -> Any:
        return _reuse(self.result)


class SharingExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, reusing results of shared subscription events."""

    def build_per_event_executor(self, payload: Any) -> Any:
        # A known result needs no copy of the executor (the copy is most of the remaining
        # per-subscriber work of an event).
        shared = getattr(payload, "shared", None)
        if isinstance(shared, SharedResults):
            entry = shared.entries.get(self._share_key())
            if entry is not None and entry[0] is self.operation:
                return _Reused(entry[1])
        return super().build_per_event_executor(payload)

    def execute_operation(self, serially: bool | None = None) -> Any:
        shared = getattr(self.root_value, "shared", None)
        # graphql-core runs each subscription event with serially=False.
        if serially is not False or not isinstance(shared, SharedResults):
            return super().execute_operation(serially)
        key = self._share_key()
        entry = shared.entries.get(key)
        # The operation is compared too: an id can be reused once a document is freed.
        if entry is not None and entry[0] is self.operation:
            return _reuse(entry[1])
        result = super().execute_operation(serially)
        if isinstance(result, Awaitable):
            task = asyncio.ensure_future(result)
            shared.entries[key] = (self.operation, task)
            return _reuse(task)
        shared.entries[key] = (self.operation, result)
        return result

    def _share_key(self) -> tuple[int, str]:
        # Computed once per subscription: per-event executors are copies of this one.
        key: tuple[int, str] | None = self.__dict__.get("_shared_key")
        if key is None:
            key = (id(self.operation), _frozen(self.variable_values.coerced))
            self.__dict__["_shared_key"] = key
        return key


def _frozen(variables: dict[str, Any] | None) -> str:
    return json.dumps(variables or {}, sort_keys=True, separators=(",", ":"), default=repr)


def _reuse(value: Any) -> Any:
    if isinstance(value, asyncio.Future):

        async def wait() -> Any:
            # Shielded: one subscriber leaving must not cancel the others' result.
            return await asyncio.shield(value)

        return wait()
    return value


class FrameCache:
    """The encoded `payload` of recent shared results, keyed by the data object itself."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._entries: OrderedDict[int, tuple[object, str]] = OrderedDict()

    def payload_json(self, data: object) -> str:
        entry = self._entries.get(id(data))
        if entry is not None and entry[0] is data:
            return entry[1]
        encoded = json.dumps({"data": data}, separators=(",", ":"))
        # Holding `data` keeps its id from being reused while the entry lives.
        self._entries[id(data)] = (data, encoded)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return encoded


FRAMES = FrameCache()


def data_frame(message: dict[str, Any]) -> str | None:
    """The frame for a `next`/`data` message holding only data, reusing the encoded payload;
    None for anything else (encoded as usual)."""
    payload = message.get("payload")
    if message.get("type") not in ("next", "data") or not isinstance(payload, dict):
        return None
    if payload.keys() != {"data"}:
        return None
    body = FRAMES.payload_json(payload["data"])
    kind = message["type"]
    return f'{{"id":{json.dumps(message["id"])},"type":"{kind}","payload":{body}}}'

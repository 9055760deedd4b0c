"""Execute a subscription event once per process for every subscriber with the same
selection, and encode its frame once (DESIGN.md "Real time", fan-out cost).

A payload that is the same object for every local subscriber (a run's step comes from the
process's feed) and whose result cannot depend on who is looking carries a `SharedResults`.
The executor then keys the event's result by (operation document, variables): the first
subscriber executes, the others get the same `ExecutionResult` (concurrent ones await the
same task). The WebSocket adapter then encodes that result's payload once and splices each
operation id into the same bytes.

The express lane (`Express`) goes one step further on graphql-transport-ws: the
subscription's own task executes an event (through the same cache) and sends its `next`
message itself, instead of yielding it through graphql-core's response stream and
Strawberry's result stream, whose per-event layers were a third of a delivery's CPU (see
README.md "Performance"). Anything that is not plain data (errors) is yielded as before and takes
the usual path, with the same result.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Awaitable
from contextvars import ContextVar
from inspect import isawaitable
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import Executor, OperationType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation

# Set in an operation's task: its graphql-transport-ws operation (by the handler) and, for a
# subscription, the executor graphql-core built for it (by `SharingExecutionContext.build`).
CURRENT_OPERATION: ContextVar[Operation[Any, Any] | None] = ContextVar("ws_operation", default=None)
_CURRENT_EXECUTOR: ContextVar[Executor[Any] | None] = ContextVar(
    "subscription_executor", default=None
)


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

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        executor = super().build(*args, **kwargs)
        if isinstance(executor, Executor) and (
            executor.operation.operation is OperationType.SUBSCRIPTION
        ):
            _CURRENT_EXECUTOR.set(executor)
        return executor

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


class Express:
    """Sends a subscription's events from its own task (see the module's docstring)."""

    __slots__ = ("_executor", "_operation", "_prefix")

    def __init__(self, operation: Operation[Any, Any], executor: Executor[Any]) -> None:
        self._operation = operation
        self._executor = executor
        # Every `next` frame of the operation starts alike; the shared payload follows.
        self._prefix = f'{{"id":{json.dumps(operation.id)},"type":"next","payload":'

    @classmethod
    def current(cls) -> Express | None:
        """The lane of the subscription running in this task, if it has one."""
        operation, executor = CURRENT_OPERATION.get(), _CURRENT_EXECUTOR.get()
        if operation is None or executor is None:
            return None
        return cls(operation, executor)

    async def send(self, payload: Any) -> bool:
        """Executes `payload` and sends it: False when the result is not plain data (the
        caller then yields the payload instead)."""
        result = self._executor.build_per_event_executor(payload).execute_operation(False)
        if isawaitable(result):
            result = await result
        if not isinstance(result, GraphQLExecutionResult) or result.errors or result.extensions:
            return False
        operation = self._operation
        if not operation.completed:  # as Strawberry's send: nothing after complete or error
            body = FRAMES.payload_json(result.data)
            # handlers.LimitedWebSocketAdapter (imported there, not here: it imports us).
            websocket: Any = operation.handler.websocket
            await websocket.send_frame(f"{self._prefix}{body}}}")
        return True


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

"""Strawberry's two WebSocket protocol handlers, with what production needs on top.

Both: a `LiveConnection` per socket (slow-consumer and revocation closes, presence cleanup),
an open-sockets gauge, a bound on message size, admission under the connections-per-user
limit and the idle timeout (supervisor.py), and the rate limit on each operation started
(RATE_LIMITED in the operation's `error` message). graphql-transport-ws: server pings as
keep-alive (sent by the supervisor). Legacy graphql-ws (which has no init timeout of its
own): close 4408 when connection_init is late, and 4403 (after `connection_error`) when it is
refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncGenerator, Mapping
from json import JSONDecodeError
from typing import Any, cast

from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import (
    NonJsonMessageReceived,
    NonTextMessageReceived,
    WebSocketDisconnected,
)
from strawberry.schema import BaseSchema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionInitMessage
from strawberry.types.unset import UnsetType

from graphql_api.context import Context
from graphql_api.guards import RateLimitExceeded, RateLimits
from graphql_api.metrics import OPEN_WEBSOCKETS
from graphql_api.settings import Settings
from graphql_api.subscriptions.connection import (
    CLOSE_FORBIDDEN,
    CLOSE_INIT_TIMEOUT,
    CLOSE_TOO_BIG,
    LiveConnection,
    attach_connection,
)
from graphql_api.subscriptions.sharing import CURRENT_OPERATION, data_frame
from graphql_api.subscriptions.supervisor import CLOSE_TOO_MANY_CONNECTIONS, ConnectionSupervisor

_KEEPALIVE_TYPES = frozenset({"ping", "pong"})


def _settings(view: Any) -> Settings:
    settings: Settings = view.resources.settings
    return settings


def _shared_query(message: object) -> object:
    """Interns an operation's query text: the thousands of subscriptions that send the same
    document then hold one copy of it, not one each (the text lives as long as they do)."""
    if isinstance(message, dict):
        payload = message.get("payload")
        if isinstance(payload, dict) and type(payload.get("query")) is str:
            payload["query"] = sys.intern(payload["query"])
    return message


class LimitedWebSocketAdapter(ASGIWebSocketAdapter):
    """Refuses messages above WS_MAX_MESSAGE_BYTES (uvicorn's ws_max_size also does, at the
    frame level; this keeps the bound under any ASGI server)."""

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        limit = _settings(self.view).ws_max_message_bytes
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                try:
                    text = await self.ws.receive_text()
                    if len(text) > limit or len(text.encode()) > limit:
                        await self.close(CLOSE_TOO_BIG, "Message too big")
                        return
                    yield _shared_query(self.view.decode_json(text))
                except JSONDecodeError as exc:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from exc
        except KeyError as exc:
            raise NonTextMessageReceived from exc
        except WebSocketDisconnect:
            pass

    async def send_json(self, message: Mapping[str, object]) -> None:
        # Results shared by many subscribers are encoded once (sharing.py).
        frame = data_frame(dict(message))
        if frame is None:
            await super().send_json(message)
        else:
            await self.send_frame(frame)

    async def send_frame(self, frame: str) -> None:
        """A message already encoded (sharing.Express sends through here)."""
        try:
            await self.ws.send_text(frame)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class _LiveMixin:
    """Creates the connection state and runs its cleanups when the socket ends."""

    websocket: Any
    view: Any
    context: Context
    live: LiveConnection
    # The supervisor that admitted the connection (it is told when the connection ends).
    _admitted_by: ConnectionSupervisor | None = None

    def _open_live(self) -> None:
        self.live = LiveConnection(self._close_connection)
        request = self.context.request
        attach_connection(request, self.live)
        OPEN_WEBSOCKETS.inc()

    async def _close_live(self) -> None:
        OPEN_WEBSOCKETS.dec()
        try:
            await self.live.finished()
        finally:
            if self._admitted_by is not None:
                await self._admitted_by.leave(self)

    async def _admit(self) -> bool:
        """After authentication: a place under the user's connection limit."""
        principal = self.context.require_principal()
        supervisor: ConnectionSupervisor = self.view.resources.extras["connections"]
        if not await supervisor.admit(self, principal.rate_key):
            return False
        self._admitted_by = supervisor
        return True

    async def _rate_refusal(self) -> dict[str, object] | None:
        """The error of an operation refused by the caller's rate limit (None: go ahead)."""
        limits: RateLimits | None = getattr(self.view, "rate_limits", None)
        if limits is None:
            return None
        try:
            await limits.check(self.context, self.context.request)
        except RateLimitExceeded as exc:
            return exc.response_error()
        return None

    async def handle_message(self, message: Any) -> None:
        # Keep-alive traffic is not activity: a client that only answers pings is idle.
        if not isinstance(message, dict) or message.get("type") not in _KEEPALIVE_TYPES:
            self.live.touch()
        await super().handle_message(message)  # type: ignore[misc]

    @property
    def busy(self) -> bool:
        raise NotImplementedError

    async def keepalive(self) -> None:
        """The protocol's server-sent keep-alive (none by default)."""

    async def _cancel_operations(self) -> None:
        raise NotImplementedError

    async def _close_connection(self, code: int, reason: str) -> None:
        await self._cancel_operations()
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await self.websocket.close(code=code, reason=reason)


class TransportWSHandler(_LiveMixin, BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws (graphql-ws library, Apollo's GraphQLWsLink)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schema = cast(BaseSchema, _PerOperation(self.schema))

    async def handle(self) -> None:
        self._open_live()
        try:
            await super().handle()
        finally:
            await self._close_live()

    @property
    def busy(self) -> bool:
        return bool(self.operations)

    async def keepalive(self) -> None:
        if self.connection_acknowledged:
            await self.send_message({"type": "ping"})

    async def handle_connection_init(self, message: Any) -> None:
        # Strawberry's, except for the connection limit between authentication and the ack.
        if self.connection_timed_out:
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        payload = message.get("payload", {})
        if not isinstance(payload, dict):
            await self.websocket.close(code=4400, reason="Invalid connection init payload")
            return
        if self.connection_init_received:
            await self.websocket.close(code=4429, reason="Too many initialisation requests")
            return
        self.connection_init_received = True
        self.context.connection_params = payload
        try:
            await self.view.on_ws_connect(self.context)
        except ConnectionRejectionError:
            await self.websocket.close(code=CLOSE_FORBIDDEN, reason="Forbidden")
            return
        if not await self._admit():
            await self.websocket.close(
                code=CLOSE_TOO_MANY_CONNECTIONS, reason="Too many connections"
            )
            return
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True

    async def handle_subscribe(self, message: Any) -> None:
        if self.connection_acknowledged and message["id"] not in self.operations:
            error = await self._rate_refusal()
            if error is not None:
                await self.send_message(
                    cast(Any, {"id": message["id"], "type": "error", "payload": [error]})
                )
                return
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        CURRENT_OPERATION.set(operation)  # this task is the operation's (sharing.Express)
        try:
            await super().run_operation(operation)
        finally:
            self.live.operation_finished()

    async def _cancel_operations(self) -> None:
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)


class _PerOperation:
    """The schema as both protocol handlers see it.

    Every operation gets a context of its own (`Context.fresh()`: its own DataLoader and
    role cache) instead of the connection's, which lives as long as the socket: otherwise a
    member removed or demoted an hour ago would still pass permission checks with the role
    cached when the socket opened. And legacy `start` may run queries and mutations too, as
    subscriptions-transport-ws servers did (strawberry's legacy handler only subscribes), so
    updatePresence can be sent over the socket whose presence it is.
    """

    def __init__(self, schema: BaseSchema) -> None:
        self._schema = schema

    async def stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Any = None,
    ) -> Any:
        if isinstance(context_value, Context):
            context_value = context_value.fresh()
        return await self._schema.stream(
            query,
            variable_values=variable_values,
            context_value=context_value,
            root_value=root_value,
            operation_name=operation_name,
            operation_extensions=operation_extensions,
            allowed_operation_types=allowed_operation_types,
        )

    async def subscribe(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> Any:
        return await self.stream(
            query,
            variable_values=variable_values,
            context_value=context_value,
            root_value=root_value,
            operation_name=operation_name,
            operation_extensions=operation_extensions,
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._schema, name)


class LegacyWSHandler(_LiveMixin, BaseGraphQLWSHandler[Context, None]):
    """Legacy graphql-ws (subscriptions-transport-ws, older Apollo links)."""

    _init_received = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schema = cast(BaseSchema, _PerOperation(self.schema))

    async def handle(self) -> None:
        self._open_live()
        timer = asyncio.create_task(self._init_timeout())
        try:
            await super().handle()
        finally:
            timer.cancel()
            with contextlib.suppress(BaseException):
                await timer
            await self._close_live()

    async def _init_timeout(self) -> None:
        await asyncio.sleep(_settings(self.view).ws_init_timeout_seconds)
        if not self._init_received:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self.websocket.close(CLOSE_INIT_TIMEOUT, "Connection initialisation timeout")

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self._init_received:
            return  # the protocol has no error for a second init: ignore it
        self._init_received = True
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            await self.send_message({"type": "connection_error"})
            await self.websocket.close(code=1000, reason="")
            return
        self.context.connection_params = payload
        try:
            ack_payload = await self.view.on_ws_connect(self.context)
        except ConnectionRejectionError as exc:
            await self.send_message({"type": "connection_error", "payload": exc.payload})
            await self.websocket.close(code=CLOSE_FORBIDDEN, reason="Forbidden")
            return
        if not await self._admit():
            error = {"message": "Too many connections", "extensions": {"code": "RATE_LIMITED"}}
            await self.send_message(cast(Any, {"type": "connection_error", "payload": error}))
            await self.websocket.close(
                code=CLOSE_TOO_MANY_CONNECTIONS, reason="Too many connections"
            )
            return
        if isinstance(ack_payload, UnsetType) or ack_payload is None:
            await self.send_message({"type": "connection_ack"})
        else:
            await self.send_message({"type": "connection_ack", "payload": ack_payload})
        self.connection_acknowledged = True
        if self.keep_alive:
            self.keep_alive_task = asyncio.create_task(self.handle_keep_alive())

    @property
    def busy(self) -> bool:
        return bool(self.tasks)

    async def handle_start(self, message: Any) -> None:
        if self.connection_acknowledged:
            error = await self._rate_refusal()
            if error is not None:
                await self.send_message(
                    cast(Any, {"id": message["id"], "type": "error", "payload": error})
                )
                return
        await super().handle_start(message)

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        try:
            await super().handle_async_results(operation_id, query, operation_name, variables)
        finally:
            self.live.operation_finished()

    async def _cancel_operations(self) -> None:
        # Not awaited (unlike cleanup_operation): a cancelled operation sends "complete",
        # which never finishes while a slow consumer is not reading.
        for task in list(self.tasks.values()):
            task.cancel()

"""The GraphQL endpoint: HTTP (GraphQL over HTTP) and WebSockets on /graphql."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema import BaseSchema
from strawberry.types import ExecutionResult

from graphql_api.auth.service import principal_from_bearer
from graphql_api.context import Context, Resources
from graphql_api.errors import ErrorCode
from graphql_api.metrics import GRAPHQL_OPERATIONS
from graphql_api.settings import Settings
from graphql_api.subscriptions.handlers import (
    LegacyWSHandler,
    LimitedWebSocketAdapter,
    TransportWSHandler,
)

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"


def _accepts(request: Request) -> str | None:
    """The response media type the client accepts (None: neither JSON type)."""
    accept = request.headers.get("accept", "")
    if not accept:
        return APPLICATION_JSON
    best: tuple[float, bool, str] | None = None
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if media in (GRAPHQL_RESPONSE_JSON, APPLICATION_JSON, "*/*", "application/*"):
            chosen = APPLICATION_JSON if media in ("*/*", "application/*") else media
            # Ties go to the newer media type, as the spec recommends.
            rank = (q, chosen == GRAPHQL_RESPONSE_JSON, chosen)
            if q > 0 and (best is None or rank > best):
                best = rank
    return best[2] if best else None


class GraphQLView(GraphQL[Context, None]):
    """Strawberry's ASGI view with auth, content negotiation and error shaping."""

    # WebSocket protocol handlers with keep-alive, init timeouts, message-size bounds,
    # slow-consumer and revocation closes (graphql_api/subscriptions/handlers.py).
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler
    websocket_adapter_class = LimitedWebSocketAdapter

    def __init__(self, schema: BaseSchema, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=True,
            keep_alive=True,
            keep_alive_interval=settings.ws_keepalive_seconds,
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds),
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            allowed_origins=settings.cors_origin_list,
            multipart_uploads_enabled=False,
        )
        self._resources: Resources | None = None

    @property
    def resources(self) -> Resources:
        if self._resources is None:
            raise RuntimeError("the app's lifespan has not started")
        return self._resources

    @resources.setter
    def resources(self, value: Resources | None) -> None:
        self._resources = value

    # context & auth -------------------------------------------------------
    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        ctx = Context(resources=self.resources, request=request, response=response)
        if isinstance(request, Request):
            request_id = request.headers.get("x-request-id")
            if request_id and len(request_id) <= 64 and request_id.isprintable():
                ctx.request_id = request_id
            request.state.request_id = ctx.request_id
            ctx.principal, ctx.auth_error = await principal_from_bearer(
                self.resources.verifier, request.headers.get("authorization")
            )
        return ctx

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        params = context.connection_params or {}
        header = params.get("authorization") or params.get("Authorization")
        if not isinstance(header, str):
            raise ConnectionRejectionError({"message": "Missing authorization"})
        context.principal, context.auth_error = await principal_from_bearer(
            self.resources.verifier, header
        )
        if context.principal is None:
            raise ConnectionRejectionError({"message": context.auth_error or "Unauthorized"})
        return None

    # HTTP -----------------------------------------------------------------
    async def execute_operation(
        self,
        request: Request,
        request_adapter: Any,
        request_data: Any,
        context: Context,
        root_value: Any,
        sub_response: Any,
    ) -> Any:
        if isinstance(request_data, GraphQLRequestData):
            request.state.operation_name = request_data.operation_name
        request.state.started = time.perf_counter()
        return await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )

    async def parse_http_body(self, request_adapter: Any) -> Any:
        try:
            return await super().parse_http_body(request_adapter)
        except (AttributeError, TypeError) as exc:
            # A JSON body that is not an object (a string, a number...).
            raise HTTPException(400, "The request body must be a JSON object") from exc

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        errors = result.errors or []
        formatted = [e.formatted for e in errors]
        request_error = result.data is None and bool(errors) and all(not e.path for e in errors)
        response: GraphQLHTTPResponse = {}
        if not request_error:
            response["data"] = result.data
        if formatted:
            response["errors"] = formatted  # type: ignore[typeddict-item]
        if result.extensions:
            response["extensions"] = result.extensions
        request.state.request_error = request_error
        codes = {f.get("extensions", {}).get("code") for f in formatted}
        outcome = (
            "ok"
            if not formatted
            else "internal_error"
            if ErrorCode.INTERNAL_SERVER_ERROR.value in codes
            else "request_error"
            if request_error
            else "error"
        )
        GRAPHQL_OPERATIONS.labels(
            getattr(request.state, "operation_name", None) or "anonymous", "http", outcome
        ).inc()
        return response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        media = _accepts(request)
        response: Response
        if media is None and not self.should_render_ide(request):
            response = PlainTextResponse(
                f"Accept {GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON}", status_code=406
            )
        else:
            try:
                response = await self.run(request)
            except HTTPException as exc:
                status = exc.status_code
                if request.method == "GET" and "GET" in exc.reason and "mutation" in exc.reason:
                    status = 405
                response = PlainTextResponse(exc.reason, status_code=status)
                if status == 405:
                    response.headers["allow"] = "POST"
            if response.media_type == APPLICATION_JSON and media == GRAPHQL_RESPONSE_JSON:
                response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
                if getattr(request.state, "request_error", False):
                    response.status_code = 400
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            response.headers["x-request-id"] = request_id
        await response(scope, receive, send)

    def should_render_ide(self, request: Request) -> bool:
        return (
            request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and self.graphql_ide is not None
        )


def encode(data: object) -> str:
    return json.dumps(data, separators=(",", ":"))

"""The GraphQL endpoint: HTTP (GraphQL over HTTP) and WebSockets on /graphql."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, cast

from cross_web import HTTPException
from graphql import DocumentNode, GraphQLError, OperationType, get_operation_ast
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema import BaseSchema
from strawberry.types import ExecutionResult

from graphql_api import idempotency, tracing
from graphql_api.apikeys import service as apikeys
from graphql_api.auth.service import auth_scheme, authenticate, principal_from_bearer
from graphql_api.context import Context, Resources
from graphql_api.errors import AppError, ErrorCode
from graphql_api.errors_ext import STORE_RETRY_AFTER_SECONDS, store_busy_error
from graphql_api.fast_path import (
    FastPath,
    has_lone_surrogate_escape,
    operation_problem,
    parse_plain,
)
from graphql_api.guards import RateLimitExceeded, RateLimits, csrf_refusal
from graphql_api.limits import DocumentCache
from graphql_api.metrics import GRAPHQL_OPERATIONS
from graphql_api.observability import log_operation
from graphql_api.persisted.requests import BadPersistedRequest, PersistedQueries, read_request
from graphql_api.persisted.transport import resolve_ws_payload
from graphql_api.realtime.ratelimit import create_rate_limiter
from graphql_api.settings import Settings
from graphql_api.static import GraphiQLAssets
from graphql_api.store.errors import RetryableStoreError
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


@dataclass
class PersistedRequestData(GraphQLRequestData):
    """GraphQLRequestData plus the top-level `documentId` Strawberry's parser drops."""

    document_id: object = None


def _error_result(code: ErrorCode, message: str) -> ExecutionResult:
    return ExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": code})])


class PersistedTransportWSHandler(TransportWSHandler):
    """graphql-transport-ws, with persisted queries and the safelist applied per operation."""

    async def handle_subscribe(self, message: Any) -> None:
        if self.connection_acknowledged:
            view = cast("GraphQLView", self.view)
            payload, error = await resolve_ws_payload(
                view.persisted, self.context, message.get("payload")
            )
            if error is not None:
                await self.send_message(
                    cast(Any, {"id": message["id"], "type": "error", "payload": [error]})
                )
                return
            message = {**message, "payload": payload}
        await super().handle_subscribe(message)


class PersistedLegacyWSHandler(LegacyWSHandler):
    """Legacy graphql-ws, with persisted queries and the safelist applied per operation."""

    async def handle_start(self, message: Any) -> None:
        if self.connection_acknowledged:
            view = cast("GraphQLView", self.view)
            payload, error = await resolve_ws_payload(
                view.persisted, self.context, message.get("payload")
            )
            if error is not None:
                await self.send_message(
                    cast(Any, {"id": message["id"], "type": "error", "payload": error})
                )
                return
            message = {**message, "payload": payload}
        await super().handle_start(message)


class BadRequestBody(Exception):
    """A request body the API refuses as a whole: HTTP 400 with a BAD_USER_INPUT error."""


class GraphQLView(GraphQL[Context, None]):
    """Strawberry's ASGI view with auth, persisted queries, content negotiation and error
    shaping."""

    # WebSocket protocol handlers with keep-alive, init timeouts, message-size bounds,
    # slow-consumer and revocation closes (graphql_api/subscriptions/handlers.py), plus
    # persisted queries.
    graphql_transport_ws_handler_class = PersistedTransportWSHandler
    graphql_ws_handler_class = PersistedLegacyWSHandler
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
        cache: DocumentCache = getattr(schema, "document_cache")  # noqa: B009 - set by build_schema
        self.document_cache = cache
        self.fast_path = FastPath(schema, cache)
        self.settings = settings
        self.rate_limits: RateLimits | None = None
        self.persisted = PersistedQueries(settings)
        self.graphiql_assets = GraphiQLAssets()

    @property
    def resources(self) -> Resources:
        if self._resources is None:
            raise RuntimeError("the app's lifespan has not started")
        return self._resources

    @resources.setter
    def resources(self, value: Resources | None) -> None:
        self._resources = value
        if value is not None:
            self.persisted.attach(value.extras["kv"])
        limits, self.rate_limits = self.rate_limits, None
        if limits is not None:
            # The lifespan is still running its (async) exits: the close gets to run.
            self._closing = asyncio.get_running_loop().create_task(limits.limiter.close())
        if value is not None and self.settings.rate_limits_on:
            self.rate_limits = RateLimits(
                create_rate_limiter(self.settings.redis_url),
                self.settings.rate_limit_per_minute,
                self.settings.rate_limit_anonymous_per_minute,
            )

    # context & auth -------------------------------------------------------
    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        ctx = Context(resources=self.resources, request=request, response=response)
        if isinstance(request, Request):
            request_id = request.headers.get("x-request-id")
            if request_id and len(request_id) <= 64 and request_id.isprintable():
                ctx.request_id = request_id
            request.state.request_id = ctx.request_id
            request.state.started = time.perf_counter()
            header = request.headers.get("authorization")
            if len(set(request.headers.getlist("authorization"))) > 1:
                # Two different credentials: fail closed rather than pick one.
                ctx.auth_error = "Conflicting Authorization headers"
            else:
                ctx.principal, ctx.auth_error = await authenticate(
                    self.resources.verifier, ctx.load, header
                )
            request.state.principal = ctx.principal
            if ctx.principal is not None and ctx.principal.is_api_key:
                await apikeys.record_use(ctx)
            elif auth_scheme(header) == "apikey":
                # A partner request never runs anonymously: it fails as a whole.
                request.state.api_key_error = ctx.auth_error
            if self.rate_limits is not None:
                # Raises RateLimitExceeded: both paths build their context here.
                await self.rate_limits.check(ctx, request)
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
        api_key_error = getattr(request.state, "api_key_error", None)
        if api_key_error:
            return _error_result(ErrorCode.UNAUTHENTICATED, api_key_error)
        if isinstance(request_data, GraphQLRequestData):
            # Raises BadPersistedRequest (400) before anything runs or is stored.
            ref = read_request(
                request_data.query,
                request_data.extensions,
                getattr(request_data, "document_id", None),
            )
            try:
                query = await self.persisted.resolve(context, request_data.query, ref)
            except AppError as exc:
                if exc.code is ErrorCode.PERSISTED_QUERY_NOT_FOUND:
                    # Apollo's links resend the text only after a 200.
                    request.state.apq_miss = True
                return _error_result(exc.code, exc.message)
            request_data = replace(request_data, query=query)
            if query is not None:
                document, errors = self.document_cache.get(query)
                if document is not None and not errors:
                    refusal = await self._before_execution(
                        request,
                        context,
                        query,
                        document,
                        request_data.variables,
                        request_data.operation_name,
                    )
                    if refusal is not None:
                        return ExecutionResult(data=None, errors=[refusal])
        return await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )

    async def parse_http_body(self, request_adapter: Any) -> Any:
        if request_adapter.method == "POST" and has_lone_surrogate_escape(
            await request_adapter.get_body()
        ):
            raise BadRequestBody("The request body has invalid Unicode (a lone surrogate)")
        try:
            data = await super().parse_http_body(request_adapter)
        except (AttributeError, TypeError) as exc:
            # A JSON body that is not an object (a string, a number...).
            raise HTTPException(400, "The request body must be a JSON object") from exc
        except UnicodeDecodeError as exc:
            raise HTTPException(400, "The request body is not valid UTF-8 JSON") from exc
        except RecursionError as exc:
            raise HTTPException(400, "The request body is nested too deeply") from exc
        if isinstance(data, GraphQLRequestData):
            document_id = await self._document_id(request_adapter)
            if document_id is not None:
                fields = {f: getattr(data, f) for f in data.__dataclass_fields__}
                data = PersistedRequestData(**fields, document_id=document_id)
        return data

    @staticmethod
    async def _document_id(request_adapter: Any) -> object:
        """The GraphQL-over-HTTP `documentId` member (the body is cached, not read twice)."""
        if request_adapter.method == "GET":
            return request_adapter.query_params.get("documentId")
        body = await request_adapter.get_body()
        if b'"documentId"' not in body:
            return None
        parsed = json.loads(body)
        return parsed.get("documentId") if isinstance(parsed, dict) else None

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
        name = getattr(request.state, "operation_name", None)
        _observe(request, name, "http", outcome, formatted)
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
        elif (refusal := self._csrf(request)) is not None:
            response = refusal
        else:
            try:
                fast = await self._fast_response(request)
                response = fast if fast is not None else await self.run(request)
            except RateLimitExceeded as exc:
                response = exc.response()
            except RetryableStoreError:
                # Before any operation ran: the API-key lookup (or its plan) in get_context.
                busy = store_busy_error(getattr(request.state, "request_id", "-"))
                response = JSONResponse({"errors": [busy]}, status_code=503)
                response.headers["retry-after"] = str(STORE_RETRY_AFTER_SECONDS)
            except _Replayed as exc:
                response = Response(exc.replay.body, status_code=exc.replay.status, media_type=None)
                response.headers["content-type"] = exc.replay.media_type
                response.headers["idempotent-replayed"] = "true"
            except (BadPersistedRequest, BadRequestBody) as exc:
                error = {"message": str(exc), "extensions": {"code": "BAD_USER_INPUT"}}
                response = JSONResponse({"errors": [error]}, status_code=400)
            except HTTPException as exc:
                status = exc.status_code
                if request.method == "GET" and "GET" in exc.reason and "mutation" in exc.reason:
                    status = 405
                response = PlainTextResponse(exc.reason, status_code=status)
                if status == 405:
                    response.headers["allow"] = "POST"
            if response.media_type == APPLICATION_JSON and media == GRAPHQL_RESPONSE_JSON:
                response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
                if getattr(request.state, "request_error", False) and not getattr(
                    request.state, "apq_miss", False
                ):
                    response.status_code = 400
        claim = getattr(request.state, "idempotency_claim", None)
        if claim is not None:
            await _settle(claim, response)
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            response.headers["x-request-id"] = request_id
        await response(scope, receive, send)

    async def _fast_response(self, request: Request) -> Response | None:
        """The fast path's response, or None when the request needs the full pipeline."""
        headers = request.headers
        if (
            request.method != "POST"
            or self.persisted.required
            or not headers.get("content-type", "").startswith("application/json")
            or auth_scheme(headers.get("authorization")) == "apikey"
        ):
            return None
        plain = parse_plain(await request.body())
        prepared = self.fast_path.prepare(plain) if plain is not None else None
        if plain is None or prepared is None:
            return None
        document, errors = prepared
        sub_response = await self.get_sub_response(request)
        ctx = await self.get_context(request, response=sub_response)
        if not errors:
            refusal = await self._before_execution(
                request, ctx, plain.query, document, plain.variables, plain.operation_name
            )
            errors = [refusal] if refusal is not None else []
        if errors:
            result = self.fast_path.refuse(errors, ctx)
        else:
            result = await self.fast_path.execute(document, plain, ctx)
        request.state.request_error = result.request_error
        shaped = result.payload.get("errors")
        _observe(request, result.operation_name, "http", result.outcome, shaped)
        response = Response(encode(result.payload), media_type=APPLICATION_JSON)
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        return response

    def _csrf(self, request: Request) -> Response | None:
        if request.method == "GET" and not _names_an_operation(request.query_params):
            return None  # the GraphiQL page, or a GET that runs nothing (answered 400/404)
        return csrf_refusal(request)

    async def _before_execution(
        self,
        request: Request,
        ctx: Context,
        query: str,
        document: DocumentNode,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> GraphQLError | None:
        """Checks both paths run on a valid document: cost with the real variables, then the
        idempotency claim (raises _Replayed with a stored response)."""
        tracing.operation_started(document, operation_name)
        problem = operation_problem(document, operation_name)
        if problem is not None:
            return GraphQLError(problem, extensions={"code": ErrorCode.BAD_USER_INPUT.value})
        too_costly = self.document_cache.cost_error(query, document, operation_name, variables)
        if too_costly is not None:
            return too_costly
        header = request.headers.get(idempotency.HEADER)
        operation = get_operation_ast(document, operation_name)
        if (
            header is None
            or request.method != "POST"  # a mutation over GET is refused (405) anyway
            or operation is None
            or operation.operation is not OperationType.MUTATION
        ):
            return None
        try:
            key = idempotency.read_key(header)
            if key is None or ctx.principal is None:
                return None  # anonymous mutations fail on their own permission checks
            outcome = await idempotency.begin(
                ctx.store,
                ctx.principal.rate_key,
                key,
                idempotency.fingerprint(query, variables, operation_name),
                self.settings.idempotency_ttl_seconds,
            )
        except AppError as exc:
            return GraphQLError(exc.message, extensions=exc.to_extensions())
        if isinstance(outcome, idempotency.Replay):
            raise _Replayed(outcome)
        request.state.idempotency_claim = outcome
        return None

    def should_render_ide(self, request: Request) -> bool:
        return (
            request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and self.graphql_ide is not None
            and not _names_an_operation(request.query_params)
        )

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET by hash (APQ, documentId) has no `query` but is an operation, not a browser.
        rendered: bool = super().should_render_graphql_ide(request)
        return rendered and not _names_an_operation(request.query_params)

    async def render_graphql_ide(self, request: Request) -> Response:
        return self.graphiql_assets.page(request)


class _Replayed(Exception):
    def __init__(self, replay: idempotency.Replay) -> None:
        super().__init__("idempotent replay")
        self.replay = replay


async def _settle(claim: idempotency.Claim, response: Response) -> None:
    """Keep a finished mutation's response for replays; forget one that failed inside."""
    body = bytes(response.body)
    if response.status_code >= 500 or ErrorCode.INTERNAL_SERVER_ERROR.value.encode() in body:
        await claim.release()
    else:
        media = response.headers.get("content-type", APPLICATION_JSON)
        await claim.complete(body, response.status_code, media)


def _names_an_operation(params: Any) -> bool:
    return any(params.get(k) is not None for k in ("query", "extensions", "documentId"))


def encode(data: object) -> str:
    return json.dumps(data, separators=(",", ":"))


def _observe(
    request: Request,
    operation: str | None,
    kind: str,
    outcome: str,
    errors: list[Any] | None = None,
) -> None:
    """The operation's metric, its JSON access-log line (request id, user, org, outcome) and,
    when tracing is on, the same on the request's span."""
    GRAPHQL_OPERATIONS.labels(operation or "anonymous", kind, outcome).inc()
    state = request.state
    principal = getattr(state, "principal", None)
    started = getattr(state, "started", None)
    request_id = getattr(state, "request_id", "-")
    user_id = principal.id if principal is not None else None
    org_id = principal.api_key_org if principal is not None else None
    if tracing.active is not None:
        tracing.operation_finished(operation, outcome, errors, request_id, user_id, org_id)
    log_operation(
        request_id=request_id,
        user_id=user_id,
        org_id=org_id,
        operation=operation,
        operation_type=kind,
        outcome=outcome,
        duration_ms=(time.perf_counter() - started) * 1000 if started else 0.0,
    )

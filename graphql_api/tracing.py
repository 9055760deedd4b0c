"""Optional OpenTelemetry tracing, switched on by the standard OTEL_* environment variables.

On when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, or
`OTEL_TRACES_EXPORTER` names an exporter (`otlp`, `console`); off when `OTEL_TRACES_EXPORTER`
is `none` or `OTEL_SDK_DISABLED=true`. The SDK's own variables keep their meaning (sampler,
batch processor, exporter headers/timeout/compression, `OTEL_RESOURCE_ATTRIBUTES`,
`OTEL_PROPAGATORS`). Spans go out as OTLP/HTTP protobuf.

The app's lifespan starts a provider of its own (the global `set_tracer_provider` is left
alone: it can be set once per process) and installs it as `active`; every hook below returns
at once while `active` is None, so tracing off costs one module-attribute check per hook.

Spans: one SERVER span per HTTP request on /graphql (W3C `traceparent` continued), named
after the operation as the GraphQL semantic conventions say (`query Probe`), with the request
id, user and org; a GraphQL error sets status ERROR and `error.type` to the contract code.
CLIENT spans under it for each DynamoDB call (`DynamoDB.GetItem`) and PRODUCER spans for
each broadcast publish.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import os
import tomllib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import DocumentNode, get_operation_ast
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor

log = logging.getLogger("graphql_api.tracing")

DEFAULT_SERVICE_NAME = "graphql-api"
EXPORTERS = ("otlp", "console")
TRACED_PATH = "/graphql"
APQ_MISS = "PERSISTED_QUERY_NOT_FOUND"


@dataclass(frozen=True)
class TracingConfig:
    """What the environment asked for (read once, when the app is built)."""

    exporters: tuple[str, ...]
    environment: str


def config_from_env(app_env: str, environ: Mapping[str, str] | None = None) -> TracingConfig | None:
    """The tracing the OTEL_* variables ask for, or None (tracing off).

    Raises ValueError for a setting this build cannot honour (an unknown exporter, OTLP over
    gRPC or JSON), so a misconfigured task fails at startup instead of tracing nothing."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    named = [e.strip().lower() for e in env.get("OTEL_TRACES_EXPORTER", "").split(",")]
    named = [e for e in named if e]
    if named:
        exporters = tuple(dict.fromkeys(e for e in named if e != "none"))
    elif env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        exporters = ("otlp",)
    else:
        exporters = ()
    if not exporters:
        return None
    unknown = [e for e in exporters if e not in EXPORTERS]
    if unknown:
        raise ValueError(
            f"OTEL_TRACES_EXPORTER: unsupported exporter(s) {', '.join(unknown)} "
            f"(supported: {', '.join(EXPORTERS)}, none)"
        )
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or ""
    ).strip()
    if "otlp" in exporters and protocol not in ("", "http/protobuf"):
        raise ValueError(f"OTLP protocol {protocol!r} is not supported: use http/protobuf")
    return TracingConfig(exporters=exporters, environment=app_env)


class Tracing:
    """A running tracer provider of the app's own, with its exporters."""

    def __init__(self, config: TracingConfig) -> None:
        # The SDK and the exporter load only when tracing is on (a third of a second).
        from opentelemetry.sdk.resources import OTELResourceDetector, Resource
        from opentelemetry.sdk.trace import TracerProvider

        defaults: dict[str, str] = {
            "service.name": DEFAULT_SERVICE_NAME,
            "deployment.environment.name": config.environment,
            # The older attribute name, still what many backends group by.
            "deployment.environment": config.environment,
        }
        version = _service_version()
        if version is not None:
            defaults["service.version"] = version
        # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over these defaults.
        resource = Resource.create(defaults).merge(OTELResourceDetector().detect())
        # The sampler comes from OTEL_TRACES_SAMPLER(_ARG); parent-based always-on by default.
        # Shut down by the lifespan (`running`), not at interpreter exit.
        self.provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        for name in config.exporters:
            self.provider.add_span_processor(_processor(name))
        self.tracer = self.provider.get_tracer("graphql_api")

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.provider.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Export what is queued and stop the exporters (blocking)."""
        self.provider.shutdown()


def _processor(name: str) -> SpanProcessor:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    if name == "console":
        return SimpleSpanProcessor(ConsoleSpanExporter())
    # Endpoint, headers, timeout, compression and certificates from OTEL_EXPORTER_OTLP_*;
    # queue and batch sizes from OTEL_BSP_*.
    return BatchSpanProcessor(OTLPSpanExporter())


def _service_version() -> str | None:
    try:
        return importlib.metadata.version("graphql-api")
    except importlib.metadata.PackageNotFoundError:
        pass
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        version = tomllib.loads(pyproject.read_text())["project"]["version"]
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError):
        return None
    return str(version)


# The process's running tracing (None: off). One app serves a process; the lifespan sets it.
active: Tracing | None = None


@asynccontextmanager
async def running(config: TracingConfig | None) -> AsyncIterator[Tracing | None]:
    """Start tracing for the app's lifespan (nothing when `config` is None); on exit, flush
    and shut the exporters down and restore what was active before."""
    global active
    if config is None:
        yield None
        return
    tracing = Tracing(config)
    previous, active = active, tracing
    log.info("tracing on: exporters %s", ", ".join(config.exporters))
    try:
        yield tracing
    finally:
        active = previous
        await asyncio.to_thread(tracing.shutdown)


def middleware(config: TracingConfig | None) -> list[Middleware]:
    """The server-span middleware when tracing is configured, else nothing at all."""
    return [Middleware(ServerSpans)] if config is not None else []


class ServerSpans:
    """One SERVER span per HTTP request on /graphql, continuing an incoming `traceparent`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracing = active
        if tracing is None or scope["type"] != "http" or scope.get("path") != TRACED_PATH:
            await self.app(scope, receive, send)
            return
        carrier: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", []):
            name = raw_name.decode("latin-1")
            if name in ("traceparent", "tracestate", "baggage"):
                carrier[name] = raw_value.decode("latin-1")
        parent = propagate.extract(carrier) if carrier else None
        method = scope.get("method", "GET")
        attributes = {
            "http.request.method": method,
            "http.route": TRACED_PATH,
            "url.path": TRACED_PATH,
            "url.scheme": scope.get("scheme", "http"),
        }
        with tracing.tracer.start_as_current_span(
            # Renamed after the operation once it is known (operation_finished).
            f"{method} {TRACED_PATH}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes=attributes,
        ) as span:

            async def send_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                        span.set_attribute("error.type", str(status))
                await send(message)

            await self.app(scope, receive, send_status)


def operation_started(document: DocumentNode, operation_name: str | None) -> None:
    """Name the request's span after the operation about to run (both execution paths)."""
    if active is None:
        return
    span = trace.get_current_span()
    if not span.is_recording():
        return
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return
    kind = operation.operation.value
    name = operation_name or (operation.name.value if operation.name else None)
    span.set_attribute("graphql.operation.type", kind)
    if name:
        span.set_attribute("graphql.operation.name", name)
    span.update_name(f"{kind} {name}" if name else kind)


def operation_finished(
    operation: str | None,
    outcome: str,
    errors: Sequence[Mapping[str, Any]] | None,
    request_id: str | None,
    user_id: str | None,
    org_id: str | None,
) -> None:
    """Outcome, identifiers and error codes of the operation on the request's span."""
    if active is None:
        return
    span = trace.get_current_span()
    if not span.is_recording():
        return
    if not _has_operation_type(span):
        # Refused before it ran (invalid, too costly...): the semantic conventions' name.
        span.update_name("GraphQL Operation")
        if operation:
            span.set_attribute("graphql.operation.name", operation)
    span.set_attribute("graphql.outcome", outcome)
    if request_id:
        span.set_attribute("app.request_id", request_id)
    if user_id:
        span.set_attribute("enduser.id", user_id)
    if org_id:
        span.set_attribute("app.org_id", org_id)
    if errors:
        codes = list(dict.fromkeys(str(_code(e)) for e in errors))
        span.set_attribute("graphql.error.codes", codes)
        span.set_attribute("error.type", codes[0])
        if codes != [APQ_MISS]:  # an APQ miss is the protocol's normal first round trip
            span.set_status(Status(StatusCode.ERROR, f"GraphQL error {codes[0]}"))


def _code(error: Mapping[str, Any]) -> object:
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, Mapping) else None
    return code or "INTERNAL_SERVER_ERROR"


def _has_operation_type(span: Any) -> bool:
    attributes = getattr(span, "attributes", None) or {}
    return "graphql.operation.type" in attributes


def dynamodb_span(operation: str, table: str) -> AbstractContextManager[None]:
    """A CLIENT span around one DynamoDB call; a failure's AWS error code is `error.type`."""
    if active is None:
        return nullcontext()
    attributes = {
        "db.system": "dynamodb",
        "db.system.name": "aws.dynamodb",
        "db.operation.name": operation,
        "rpc.system": "aws-api",
        "rpc.service": "DynamoDB",
        "rpc.method": operation,
        "aws.dynamodb.table_names": [table],
    }
    return _span(active, f"DynamoDB.{operation}", SpanKind.CLIENT, attributes)


def publish_span(channel: str, system: str) -> AbstractContextManager[None]:
    """A PRODUCER span around one broadcast publish (Redis PUBLISH or the in-memory twin)."""
    if active is None:
        return nullcontext()
    attributes = {
        "messaging.system": system,
        "messaging.operation.type": "send",
        "messaging.operation.name": "publish",
        "messaging.destination.name": channel,
    }
    return _span(active, "publish", SpanKind.PRODUCER, attributes)


@contextmanager
def _span(
    tracing: Tracing, name: str, kind: SpanKind, attributes: dict[str, Any]
) -> Iterator[None]:
    """A child span of the current one; status ERROR and `error.type` when the body raises
    (a store error's AWS code, else the exception's class)."""
    with tracing.tracer.start_as_current_span(name, kind=kind, attributes=attributes) as span:
        try:
            yield
        except Exception as exc:
            span.set_attribute("error.type", getattr(exc, "aws_code", None) or type(exc).__name__)
            raise


def current_trace_id() -> str | None:
    """The current span's trace id (32 hex digits) while tracing is on, else None."""
    if active is None:
        return None
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None

"""OpenTelemetry tracing: the app exports OTLP/HTTP to a real (in-process) collector.

The collector is a plain HTTP server on a free loopback port that decodes the exporter's
protobuf POSTs to /v1/traces with opentelemetry-proto. Each app here runs its own lifespan,
so its tracer provider (never the process-global one) starts and shuts down with it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from graphql_api import tracing
from graphql_api.app import create_app
from graphql_api.common.ids import from_global_id
from graphql_api.settings import Settings
from graphql_api.tracing import ServerSpans, config_from_env
from tests.support.factories import create_org
from tests.support.graphql import GraphQLClient, token

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_SPAN_ID = "b7ad6b7169203331"
SERVICE = "graphql-api-under-test"


@dataclass
class Exported:
    """One span as the collector received it, with its resource's attributes."""

    span: Span
    resource: dict[str, Any]

    @property
    def name(self) -> str:
        return self.span.name

    @property
    def trace_id(self) -> str:
        return self.span.trace_id.hex()

    @property
    def span_id(self) -> str:
        return self.span.span_id.hex()

    @property
    def parent_id(self) -> str:
        return self.span.parent_span_id.hex()

    @property
    def attributes(self) -> dict[str, Any]:
        return {kv.key: _value(kv.value) for kv in self.span.attributes}


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


class Collector:
    """A minimal OTLP/HTTP trace receiver (protobuf, uncompressed) on 127.0.0.1."""

    def __init__(self) -> None:
        self.spans: list[Exported] = []
        self.requests = 0
        self._lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.path != "/v1/traces":
                    self.send_response(404)
                    self.end_headers()
                    return
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                collector.receive(request)
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def receive(self, request: ExportTraceServiceRequest) -> None:
        with self._lock:
            self.requests += 1
            for resource_spans in request.resource_spans:
                resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend(Exported(s, resource) for s in scope_spans.spans)

    def named(self, name: str) -> list[Exported]:
        with self._lock:
            return [s for s in self.spans if s.name == name]

    def in_trace(self, trace_id: str) -> list[Exported]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector() -> Iterator[Collector]:
    receiver = Collector()
    yield receiver
    receiver.close()


def _clear_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.fixture
async def traced(
    settings: Settings, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """An app with tracing switched on by the standard variables only."""
    _clear_otel_env(monkeypatch)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", SERVICE)
    async with running_app(settings) as http:
        assert tracing.active is not None
        yield http
    assert tracing.active is None  # the lifespan took it down again


async def flush() -> None:
    active = tracing.active
    assert active is not None
    assert await asyncio.to_thread(active.force_flush, 10_000)


def server_span(collector: Collector, trace_id: str) -> Exported:
    spans = [s for s in collector.in_trace(trace_id) if s.span.kind == Span.SPAN_KIND_SERVER]
    assert len(spans) == 1, [s.name for s in collector.in_trace(trace_id)]
    return spans[0]


async def test_operation_span_continues_traceparent_with_dynamodb_children(
    traced: httpx.AsyncClient,
    collector: Collector,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="graphql_api.access")
    sub = "trace-user-1"
    response = await traced.post(
        "/graphql",
        json={"query": "query Probe { me { userId } }"},
        headers={
            "authorization": f"Bearer {token(sub)}",
            "x-request-id": "req-trace-1",
            "traceparent": f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01",
        },
    )
    assert response.status_code == 200 and response.json() == {"data": {"me": {"userId": sub}}}
    await flush()

    server = server_span(collector, TRACE_ID)
    assert server.name == "query Probe"
    assert server.parent_id == PARENT_SPAN_ID  # the caller's span is the parent
    assert server.span.status.code != Status.STATUS_CODE_ERROR
    attributes = server.attributes
    assert attributes["graphql.operation.name"] == "Probe"
    assert attributes["graphql.operation.type"] == "query"
    assert attributes["app.request_id"] == "req-trace-1"
    assert attributes["enduser.id"] == sub
    assert attributes["http.response.status_code"] == 200
    assert server.resource["service.name"] == SERVICE
    assert server.resource["deployment.environment.name"] == "test"
    assert server.resource["service.version"]

    # First sight of this user: the profile is read and provisioned in DynamoDB, inside the
    # operation's trace.
    children = [s for s in collector.in_trace(TRACE_ID) if s.name.startswith("DynamoDB.")]
    assert children, [s.name for s in collector.in_trace(TRACE_ID)]
    for child in children:
        assert child.parent_id == server.span_id
        assert child.span.kind == Span.SPAN_KIND_CLIENT
        assert child.attributes["db.system"] == "dynamodb"
        assert child.attributes["rpc.method"] == child.name.removeprefix("DynamoDB.")
        assert child.attributes["aws.dynamodb.table_names"] == [settings.dynamodb_table]
    assert any(c.name in ("DynamoDB.PutItem", "DynamoDB.TransactWriteItems") for c in children)

    lines = [r for r in caplog.records if getattr(r, "request_id", None) == "req-trace-1"]
    assert [getattr(r, "trace_id", None) for r in lines] == [TRACE_ID]


async def test_error_operation_has_error_status_and_contract_code(
    traced: httpx.AsyncClient, collector: Collector
) -> None:
    response = await traced.post("/graphql", json={"query": "query Anonymous { me { userId } }"})
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    await flush()
    (span,) = collector.named("query Anonymous")
    assert span.parent_id == ""  # no traceparent: a new trace
    assert span.span.status.code == Status.STATUS_CODE_ERROR
    assert span.attributes["error.type"] == "UNAUTHENTICATED"
    assert span.attributes["graphql.error.codes"] == ["UNAUTHENTICATED"]
    assert span.attributes["graphql.outcome"] == "error"


async def test_strawberry_pipeline_requests_are_traced_too(
    traced: httpx.AsyncClient, collector: Collector
) -> None:
    # A GET runs on Strawberry's pipeline, not the fast path.
    headers = {"apollo-require-preflight": "1"}
    query = urllib.parse.quote("query Hello { __typename }")
    response = await traced.get(f"/graphql?query={query}", headers=headers)
    assert response.json() == {"data": {"__typename": "Query"}}
    invalid = urllib.parse.quote("query Broken { nope }")
    refused = await traced.get(f"/graphql?query={invalid}", headers=headers)
    code = refused.json()["errors"][0]["extensions"]["code"]
    await flush()

    (hello,) = collector.named("query Hello")
    assert hello.span.status.code != Status.STATUS_CODE_ERROR
    assert hello.attributes["http.request.method"] == "GET"
    # Invalid: it never ran, so no type; the span still says what was refused and why.
    (broken,) = [s for s in collector.named("GraphQL Operation") if s.trace_id != hello.trace_id]
    assert broken.span.status.code == Status.STATUS_CODE_ERROR
    assert broken.attributes["error.type"] == code
    assert broken.attributes["graphql.operation.name"] == "Broken"
    assert broken.attributes["graphql.outcome"] == "request_error"


async def test_mutation_publish_is_a_child_span(
    traced: httpx.AsyncClient, collector: Collector
) -> None:
    def client_for(sub: str | None, email: str | None = None) -> GraphQLClient:
        return GraphQLClient(traced, sub, email)

    org = await create_org(client_for, roles=["MEMBER"], plan=None)
    response = await org.clients["OWNER"].raw(
        "mutation Demote($id: ID!) { updateMemberRole(memberId: $id, role: VIEWER) { role } }",
        {"id": org.member_id("MEMBER")},
    )
    assert response.json() == {"data": {"updateMemberRole": {"role": "VIEWER"}}}
    await flush()

    (mutation,) = collector.named("mutation Demote")
    publishes = [s for s in collector.in_trace(mutation.trace_id) if s.name == "publish"]
    org_id = from_global_id(org.id).org_id
    member = org.clients["MEMBER"].sub
    assert [p.attributes["messaging.destination.name"] for p in publishes] == [
        f"org:{org_id}:member:{member}"
    ]
    assert publishes[0].parent_id == mutation.span_id
    assert publishes[0].attributes["messaging.system"] == "memory"
    writes = [s.name for s in collector.in_trace(mutation.trace_id) if s.parent_id]
    assert "DynamoDB.TransactWriteItems" in writes


async def test_sdk_sampler_variable_is_honoured(
    settings: Settings, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clear_otel_env(monkeypatch)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{collector.endpoint}/v1/traces")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    async with running_app(settings) as http:
        assert tracing.active is not None
        response = await http.post("/graphql", json={"query": "query Sampled { __typename }"})
        assert response.status_code == 200
        await flush()
    # Switched on, yet nothing sampled, so nothing sent.
    assert collector.named("query Sampled") == []


async def test_off_without_otel_variables(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _clear_otel_env(monkeypatch)
    global_provider = trace.get_tracer_provider()
    caplog.set_level(logging.INFO, logger="graphql_api.access")
    app = create_app(settings)
    assert not any(m.cls is ServerSpans for m in app.user_middleware)
    async with app.router.lifespan_context(app):
        assert tracing.active is None
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.post(
                "/graphql",
                json={"query": "query Untraced { __typename }"},
                headers={
                    "x-request-id": "req-untraced",
                    "traceparent": f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01",
                },
            )
        assert response.status_code == 200
    lines = [r for r in caplog.records if getattr(r, "request_id", None) == "req-untraced"]
    assert len(lines) == 1 and not hasattr(lines[0], "trace_id")
    # Neither this app nor the traced ones ever touch the process-global provider.
    assert trace.get_tracer_provider() is global_provider
    assert not hasattr(global_provider, "add_span_processor")


@pytest.mark.parametrize(
    ("environ", "exporters"),
    [
        ({}, None),
        ({"OTEL_SERVICE_NAME": "x"}, None),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ("otlp",)),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, ("otlp",)),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, ("otlp",)),
        ({"OTEL_TRACES_EXPORTER": "console, otlp"}, ("console", "otlp")),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, None),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, None),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
            ("otlp",),
        ),
    ],
)
def test_switched_on_by_the_standard_variables(
    environ: dict[str, str], exporters: tuple[str, ...] | None
) -> None:
    config = config_from_env("production", environ)
    assert (config.exporters if config is not None else None) == exporters


@pytest.mark.parametrize(
    "environ",
    [
        {"OTEL_TRACES_EXPORTER": "zipkin"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
        {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"},
    ],
)
def test_settings_this_build_cannot_honour_fail_at_startup(environ: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        config_from_env("production", environ)

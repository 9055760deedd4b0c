"""Prometheus metrics of the process (served on /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests", ["method", "route", "status"], registry=REGISTRY
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency", ["route"], registry=REGISTRY
)
GRAPHQL_OPERATIONS = Counter(
    "graphql_operations_total",
    "GraphQL operations by name, type and outcome",
    ["operation", "type", "outcome"],
    registry=REGISTRY,
)
DYNAMODB_CALLS = Counter(
    "dynamodb_calls_total", "DynamoDB API calls by operation", ["operation"], registry=REGISTRY
)
DYNAMODB_ERRORS = Counter(
    "dynamodb_errors_total", "DynamoDB API errors", ["operation", "code"], registry=REGISTRY
)
S3_CALLS = Counter("s3_calls_total", "S3 API calls by operation", ["operation"], registry=REGISTRY)
OPEN_WEBSOCKETS = Gauge("websockets_open", "Open WebSocket connections", registry=REGISTRY)
ACTIVE_SUBSCRIPTIONS = Gauge("subscriptions_active", "Active subscriptions", registry=REGISTRY)
PUBLISH_FAILURES = Counter(
    "broadcast_publish_failures_total", "Events that could not be published", registry=REGISTRY
)


def dynamodb_call_count() -> int:
    """Total DynamoDB calls so far (tests and benchmarks diff it around a request)."""
    total = 0.0
    for metric in DYNAMODB_CALLS.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                total += sample.value
    return int(total)

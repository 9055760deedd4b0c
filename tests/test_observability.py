"""JSON logs: one line per GraphQL operation with request id, user, operation and outcome."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from graphql_api.observability import JsonFormatter
from tests.support.graphql import token


async def test_each_operation_writes_an_access_line(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="graphql_api.access")
    headers = {"authorization": f"Bearer {token('log-user')}", "x-request-id": "req-log-1"}
    for query in ("query Probe { me { userId } }", "query Bad { me { nope } }"):
        response = await http.post("/graphql", json={"query": query}, headers=headers)
        assert response.headers["x-request-id"] == "req-log-1"
    lines = [r for r in caplog.records if r.name == "graphql_api.access"]
    assert [(r.operation, r.outcome) for r in lines][-2:] == [  # type: ignore[attr-defined]
        ("Probe", "ok"),
        ("anonymous", "request_error"),
    ]
    record = lines[-2]
    assert record.request_id == "req-log-1"  # type: ignore[attr-defined]
    assert record.user == "log-user"  # type: ignore[attr-defined]
    payload = json.loads(JsonFormatter().format(record))
    assert payload["operation"] == "Probe" and payload["duration_ms"] >= 0
    assert payload["msg"] == "graphql operation" and payload["level"] == "INFO"

"""The HTTP surface: hostile tokens, GraphQL over HTTP, error masking, health and metrics."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import GraphQLError
from starlette.applications import Starlette

from graphql_api.app import create_app
from graphql_api.errors import AppError, ErrorCode
from graphql_api.errors_ext import shape_error
from graphql_api.settings import Settings
from tests.conftest import make_settings
from tests.support import tokens
from tests.support.graphql import token
from tests.support.moto_server import MotoServer

GQL_JSON = "application/graphql-response+json"
ME = "{ me { userId email } }"


def auth(sub: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token(sub)}"}


async def post(
    http: httpx.AsyncClient,
    body: Any,
    accept: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    h = dict(headers or {})
    if accept is not None:
        h["accept"] = accept
    return await http.post("/graphql", json=body, headers=h)


# hostile tokens ------------------------------------------------------------------------------
async def test_me_without_token_is_unauthenticated(http: httpx.AsyncClient) -> None:
    body = (await post(http, {"query": ME})).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


HOSTILE = {
    "bad signature": lambda: tokens.hs256(tokens.claims("mallory"), secret="x" * 48),
    "expired": lambda: tokens.hs256(tokens.claims("mallory", ttl=-3600)),
    "alg none": lambda: tokens.unsigned(tokens.claims("mallory")),
    "alg HS512 claimed": lambda: tokens.hs256(tokens.claims("mallory"), alg="HS512"),
    "wrong audience": lambda: tokens.hs256(tokens.claims("mallory", aud="someone-else")),
    "wrong issuer": lambda: tokens.hs256(tokens.claims("mallory", iss="https://evil.test/")),
    "five segments (JWE)": lambda: "a.b.c.d.e",
    "garbage": lambda: "not-a-token",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
async def test_hostile_tokens_are_unauthenticated_and_leak_nothing(
    http: httpx.AsyncClient, kind: str
) -> None:
    query = "{ me { userId email memberships { role organization { id name } } } }"
    response = await post(
        http, {"query": query}, headers={"authorization": f"Bearer {HOSTILE[kind]()}"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert "mallory" not in response.text


async def test_non_bearer_scheme_is_unauthenticated(http: httpx.AsyncClient) -> None:
    body = (await post(http, {"query": ME}, headers={"authorization": "Basic YTpi"})).json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_valid_token_provisions_the_user(http: httpx.AsyncClient) -> None:
    body = (await post(http, {"query": ME}, headers=auth("http-alice"))).json()
    assert body == {"data": {"me": {"userId": "http-alice", "email": "http-alice@example.test"}}}


# GraphQL over HTTP -----------------------------------------------------------------------------
async def test_graphql_response_json_is_answered_in_kind(http: httpx.AsyncClient) -> None:
    response = await post(http, {"query": ME}, accept=GQL_JSON, headers=auth("http-bob"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GQL_JSON)
    assert response.json()["data"]["me"]["userId"] == "http-bob"


async def test_plain_json_for_older_clients(http: httpx.AsyncClient) -> None:
    response = await post(http, {"query": ME}, accept="application/json", headers=auth("http-c"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


MEMBERS_FIRST = 'query($n: Int!) { organization(id: "x") { members(first: $n) { nodes { id } } } }'
REQUEST_ERRORS = {
    "parse": {"query": "{ me { userId "},
    "validation": {"query": "{ me { noSuchField } }"},
    "unused variable": {"query": "query($n: Int!) { __typename }", "variables": {"n": 1}},
    "variable coercion (Int)": {"query": MEMBERS_FIRST, "variables": {"n": "not a number"}},
    "variable coercion (DateTime)": {
        "query": """query($s: DateTime) {
          organization(id: "x") { auditLog(since: $s) { nodes { id } } } }""",
        "variables": {"s": "yesterday"},
    },
    "variable coercion (enum)": {
        "query": 'mutation($p: Plan) { updateOrganization(input: {id: "x", plan: $p}) { plan } }',
        "variables": {"p": "GOLD"},
    },
    "missing variable": {"query": MEMBERS_FIRST, "variables": {}},
}


@pytest.mark.parametrize("kind", sorted(REQUEST_ERRORS))
async def test_request_errors_are_400_without_data_under_graphql_response_json(
    http: httpx.AsyncClient, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = await post(http, REQUEST_ERRORS[kind], accept=GQL_JSON, headers=auth("http-d"))
    # The client's mistake: not masked, not logged as a server error.
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(GQL_JSON)
    body = response.json()
    assert "data" not in body
    assert body["errors"]
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("kind", sorted(REQUEST_ERRORS))
async def test_request_errors_are_200_under_application_json(
    http: httpx.AsyncClient, kind: str
) -> None:
    response = await post(
        http, REQUEST_ERRORS[kind], accept="application/json", headers=auth("http-d")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_field_errors_keep_200_and_data_under_graphql_response_json(
    http: httpx.AsyncClient,
) -> None:
    response = await post(http, {"query": ME}, accept=GQL_JSON)
    assert response.status_code == 200
    assert response.json()["data"] is None


async def test_query_over_get(http: httpx.AsyncClient) -> None:
    response = await http.get(
        "/graphql",
        params={"query": ME},
        headers={**auth("http-e"), "accept": GQL_JSON, "apollo-require-preflight": "1"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["me"]["userId"] == "http-e"


async def test_mutation_over_get_is_405(http: httpx.AsyncClient) -> None:
    query = 'mutation { createOrganization(input: {name: "x", slug: "via-get"}) { id } }'
    response = await http.get(
        "/graphql",
        params={"query": query},
        headers={**auth("http-f"), "apollo-require-preflight": "1"},
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    memberships = await post(
        http, {"query": "{ me { memberships { role } } }"}, headers=auth("http-f")
    )
    assert memberships.json()["data"]["me"]["memberships"] == []


async def test_put_is_405(http: httpx.AsyncClient) -> None:
    response = await http.put("/graphql", json={"query": ME})
    assert response.status_code == 405


async def test_body_over_the_limit_is_413(http: httpx.AsyncClient, settings: Settings) -> None:
    padding = " " * (settings.max_body_bytes + 10)
    response = await http.post(
        "/graphql",
        content=json.dumps({"query": "{ __typename }" + padding}),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413


async def test_body_over_the_limit_without_content_length_is_413(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    chunk = b" " * 65536

    async def stream() -> AsyncIterator[bytes]:
        yield b'{"query": "{ __typename }'
        for _ in range(settings.max_body_bytes // len(chunk) + 2):
            yield chunk
        yield b'"}'

    response = await http.post(
        "/graphql", content=stream(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


async def test_batches_are_refused_without_execution(http: httpx.AsyncClient) -> None:
    slug = "batched-org-never-created"
    create = f'mutation {{ createOrganization(input: {{name: "b", slug: "{slug}"}}) {{ id }} }}'
    response = await post(http, [{"query": create}, {"query": ME}], headers=auth("http-g"))
    assert 400 <= response.status_code < 500, response.text
    memberships = await post(
        http, {"query": "{ me { memberships { role } } }"}, headers=auth("http-g")
    )
    assert memberships.json()["data"]["me"]["memberships"] == []


@pytest.mark.parametrize("body", ['"a string"', "42", "null", "true", "{bad json", ""])
async def test_non_object_json_body_is_400(http: httpx.AsyncClient, body: str) -> None:
    response = await http.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text


async def test_missing_query_is_400(http: httpx.AsyncClient) -> None:
    response = await post(http, {"variables": {}})
    assert response.status_code == 400


async def test_text_plain_only_is_406(http: httpx.AsyncClient) -> None:
    response = await post(http, {"query": ME}, accept="text/plain")
    assert response.status_code == 406


async def test_accept_q_zero_for_json_is_406(http: httpx.AsyncClient) -> None:
    response = await post(http, {"query": ME}, accept=f"{GQL_JSON};q=0, application/json;q=0")
    assert response.status_code == 406


async def test_accept_wildcard_gets_json(http: httpx.AsyncClient) -> None:
    response = await post(http, {"query": "{ __typename }"}, accept="*/*")
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_request_id_is_echoed(http: httpx.AsyncClient) -> None:
    response = await post(http, {"query": "{ __typename }"}, headers={"x-request-id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    generated = await post(http, {"query": "{ __typename }"})
    assert len(generated.headers["x-request-id"]) >= 8


# unexpected errors -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
async def broken_http(moto: MotoServer) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose table was never created: every DynamoDB call fails for real."""
    app: Starlette = create_app(make_settings(moto))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_unexpected_errors_are_masked_with_the_request_id(
    broken_http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await post(broken_http, {"query": ME}, headers=auth("http-h"))
    assert response.status_code == 200
    body = response.json()
    (error,) = body["errors"]
    assert error["message"] == "Internal server error"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    assert "ResourceNotFound" not in response.text
    assert "Traceback" not in response.text
    assert any(response.headers["x-request-id"] in r.getMessage() for r in caplog.records)


async def test_readyz_names_the_failing_part(broken_http: httpx.AsyncClient) -> None:
    response = await broken_http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["dynamodb"]


def test_shape_error_masks_anything_but_app_errors() -> None:
    wrapped = GraphQLError("boom: secret detail", path=["me"], original_error=RuntimeError("x"))
    shaped = shape_error(wrapped, "req-42")
    assert shaped.message == "Internal server error"
    assert shaped.extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"}
    assert shaped.path == ["me"]

    app_error = AppError(ErrorCode.CONFLICT, "changed meanwhile", version=3)
    shaped = shape_error(GraphQLError("x", original_error=app_error), "req-43")
    assert shaped.message == "changed meanwhile"
    assert shaped.extensions == {"code": "CONFLICT", "version": 3}

    shaped = shape_error(GraphQLError("Syntax Error: unexpected"), "req-44")
    assert shaped.extensions == {"code": "BAD_USER_INPUT"}


# health and metrics ----------------------------------------------------------------------------
async def test_healthz(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz(http: httpx.AsyncClient) -> None:
    response = await http.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"dynamodb": "ok"}


async def test_metrics(http: httpx.AsyncClient) -> None:
    await post(http, {"query": "query Probe { __typename }", "operationName": "Probe"})
    await post(http, {"query": "query Unnamed { __typename }"})
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'dynamodb_calls_total{operation="DescribeTable"}' in text
    assert 'graphql_operations_total{operation="Probe",outcome="ok",type="http"}' in text
    # Named in the document only (no operationName in the request).
    assert 'graphql_operations_total{operation="Unnamed",outcome="ok",type="http"}' in text
    assert 'http_requests_total{method="POST",route="/graphql",status="200"}' in text
    assert "websockets_open" in text
    assert "subscriptions_active" in text


@pytest.mark.parametrize(
    "accept",
    [
        f"{GQL_JSON}, application/json",
        f"application/json, {GQL_JSON}",
        f"application/json;q=0.9, {GQL_JSON}",
    ],
)
async def test_graphql_response_json_wins_ties_and_higher_q(
    http: httpx.AsyncClient, accept: str
) -> None:
    response = await post(http, {"query": "{ __typename }"}, accept=accept)
    assert response.headers["content-type"].startswith(GQL_JSON)


async def test_higher_q_for_plain_json_is_respected(http: httpx.AsyncClient) -> None:
    response = await post(
        http, {"query": "{ __typename }"}, accept=f"{GQL_JSON};q=0.5, application/json"
    )
    assert response.headers["content-type"].startswith("application/json")

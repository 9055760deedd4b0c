"""Operation limits over HTTP, on both the fast path and Strawberry's pipeline: cost (with
literal and variable `first`s, re-checked with the real variables), root fields, directives,
batching, hidden suggestions."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from graphql_api.cost import operation_cost
from graphql_api.limits import LimitConfig
from graphql_api.schema import build_schema
from graphql_api.settings import Settings
from tests.support.graphql import token
from tests.support.isolated import isolated_app
from tests.support.moto_server import MotoServer

AUTH = {"authorization": f"Bearer {token('hardening-limits')}"}
GQL_JSON = "application/graphql-response+json"

# me(1) + memberships(1 + 20 x (organization(1) + members(1 + N x (nodes(1) + id, role))))
NESTED = "{ me { memberships { organization { members(first: %s) { nodes { id role } } } } } }"
NESTED_VAR = (
    "query($n: Int) { me { memberships { organization "
    "{ members(first: $n) { nodes { id role } } } } } }"
)


def nested_cost(first: int) -> int:
    return 2 + 20 * (2 + first * 3)


async def post(
    http: httpx.AsyncClient, body: Any, *, full_pipeline: bool = False, **headers: str
) -> httpx.Response:
    """POST an operation; `full_pipeline` sends an (empty) persisted-query-free extension the
    fast path does not take, so the same check is seen on Strawberry's path."""
    if full_pipeline and isinstance(body, dict):
        body = {**body, "extensions": {"tracing": False}}
    return await http.post(
        "/graphql",
        content=json.dumps(body),
        headers={**AUTH, "content-type": "application/json", "accept": GQL_JSON, **headers},
    )


def error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert "data" not in body, body
    assert len(body["errors"]) == 1, body
    first: dict[str, Any] = body["errors"][0]
    return first


def test_cost_multiplies_nested_lists() -> None:
    schema = build_schema()
    cache = schema.document_cache
    for first in (1, 5, 100):
        document, _ = cache.get(NESTED % first)
        assert document is not None
        op = document.definitions[0]
        fragments: dict[str, Any] = {}
        assert operation_cost(schema._schema, op, fragments, None) == nested_cost(first)  # type: ignore[arg-type]
    # A variable counts as the default page size (20) until its value is known.
    document, _ = cache.get(NESTED_VAR)
    assert document is not None
    op = document.definitions[0]
    assert operation_cost(schema._schema, op, {}, None) == nested_cost(20)  # type: ignore[arg-type]
    assert operation_cost(schema._schema, op, {}, {"n": 7}) == nested_cost(7)  # type: ignore[arg-type]


def test_fragments_and_connection_nodes_are_not_double_counted() -> None:
    schema = build_schema()
    query = """
    query { organization(id: "x") { ...M } }
    fragment M on Organization { members(first: 10) { nodes { id } pageInfo { hasNextPage } } }
    """
    document, errors = schema.document_cache.get(query)
    assert document is not None and errors == []
    op = document.definitions[0]
    frags = {d.name.value: d for d in document.definitions[1:]}  # type: ignore[union-attr]
    # organization 1 + members (1 + 10 x (nodes (1 + id) + pageInfo (1 + hasNextPage)))
    assert operation_cost(schema._schema, op, frags, None) == 1 + 1 + 10 * (2 + 2)  # type: ignore[arg-type]


@pytest.mark.parametrize("full_pipeline", [False, True])
async def test_literal_cost_over_the_limit(
    http: httpx.AsyncClient, settings: Settings, full_pipeline: bool
) -> None:
    assert nested_cost(100) > settings.max_cost
    response = await post(http, {"query": NESTED % 100}, full_pipeline=full_pipeline)
    assert response.status_code == 400
    err = error(response)
    assert err["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "cost": nested_cost(100),
        "limit": settings.max_cost,
    }
    ok = await post(http, {"query": NESTED % 5}, full_pipeline=full_pipeline)
    assert ok.status_code == 200, ok.text
    assert ok.json()["data"]["me"]["memberships"] == []


@pytest.mark.parametrize("full_pipeline", [False, True])
async def test_variable_cost_is_rechecked_with_the_real_value(
    http: httpx.AsyncClient, settings: Settings, full_pipeline: bool
) -> None:
    # Validation assumed 20 (cost 1242): fine. The real value 100 is not.
    small = await post(
        http, {"query": NESTED_VAR, "variables": {"n": 20}}, full_pipeline=full_pipeline
    )
    assert small.status_code == 200, small.text
    big = await post(
        http, {"query": NESTED_VAR, "variables": {"n": 100}}, full_pipeline=full_pipeline
    )
    assert big.status_code == 400
    assert error(big)["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "cost": nested_cost(100),
        "limit": settings.max_cost,
    }


@pytest.mark.parametrize("full_pipeline", [False, True])
async def test_too_many_root_fields(
    http: httpx.AsyncClient, settings: Settings, full_pipeline: bool
) -> None:
    limit = settings.max_root_fields
    at_limit = " ".join(f"f{i}: me {{ userId }}" for i in range(limit))
    ok = await post(http, {"query": "{ " + at_limit + " }"}, full_pipeline=full_pipeline)
    assert ok.status_code == 200, ok.text
    over = at_limit + " __typename"
    response = await post(http, {"query": "{ " + over + " }"}, full_pipeline=full_pipeline)
    assert response.status_code == 400
    err = error(response)
    assert err["extensions"] == {"code": "QUERY_TOO_COMPLEX", "rootFields": 21, "limit": limit}


@pytest.mark.parametrize("full_pipeline", [False, True])
async def test_too_many_directives(
    http: httpx.AsyncClient, settings: Settings, full_pipeline: bool
) -> None:
    limit = settings.max_directives
    many = " ".join("@include(if: true)" for _ in range(limit + 1))
    response = await post(
        http, {"query": "{ __typename " + many + " }"}, full_pipeline=full_pipeline
    )
    assert response.status_code == 400
    codes = [e["extensions"]["code"] for e in response.json()["errors"]]
    assert "QUERY_TOO_COMPLEX" in codes
    refusal = next(e for e in response.json()["errors"] if "directives" in e["extensions"])
    assert refusal["extensions"]["directives"] == limit + 1


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
async def test_json_array_batches_are_refused(http: httpx.AsyncClient, content_type: str) -> None:
    batch = [{"query": "{ __typename }"}, {"query": "{ __typename }"}]
    response = await http.post(
        "/graphql", content=json.dumps(batch), headers={**AUTH, "content-type": content_type}
    )
    assert response.status_code == 400, response.text


async def test_suggestions_shown_outside_production(http: httpx.AsyncClient) -> None:
    response = await post(http, {"query": "{ me { emial } }"})
    assert "Did you mean" in error(response)["message"]


@pytest.mark.parametrize("full_pipeline", [False, True])
async def test_suggestions_hidden_when_configured(moto: MotoServer, full_pipeline: bool) -> None:
    async with isolated_app(moto, create_table=False, hide_suggestions=True) as iso:
        response = await post(iso.http, {"query": "{ me { emial } }"}, full_pipeline=full_pipeline)
        err = error(response)
        assert err["message"] == "Cannot query field 'emial' on type 'User'."
        assert err["extensions"]["code"] == "BAD_USER_INPUT"


def test_production_hides_suggestions_by_default() -> None:
    assert Settings(app_env="test").suggestions_hidden is False
    assert Settings(app_env="test", hide_suggestions=True).suggestions_hidden is True
    config = LimitConfig.from_settings(Settings(app_env="development"))
    assert (config.max_depth, config.max_cost, config.hide_suggestions) == (12, 5000, False)


async def test_variable_cost_is_rechecked_over_get(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    params = {"query": NESTED_VAR, "variables": json.dumps({"n": 100})}
    headers = {**AUTH, "accept": GQL_JSON, "apollo-require-preflight": "1"}
    response = await http.get("/graphql", params=params, headers=headers)
    assert response.status_code == 400
    assert error(response)["extensions"]["cost"] == nested_cost(100)
    params["variables"] = json.dumps({"n": 2})
    ok = await http.get("/graphql", params=params, headers=headers)
    assert ok.status_code == 200, ok.text

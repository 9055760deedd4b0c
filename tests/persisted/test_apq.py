"""Automatic persisted queries (Apollo's protocol) over POST and GET."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from starlette.applications import Starlette

from graphql_api.limits import CachedDocument, DocumentCache
from graphql_api.metrics import REGISTRY
from graphql_api.view import GraphQLView
from tests.conftest import unique
from tests.persisted.manifests import apq, sha256
from tests.support.graphql import GraphQLClient

GQL_JSON = "application/graphql-response+json"

# GET operations need a CSRF preflight-forcing header (graphql_api/guards.py).
PREFLIGHT = {"apollo-require-preflight": "1"}


def _metric(kind: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value("persisted_queries_total", {"kind": kind, "outcome": outcome})
    return value or 0.0


def _document_cache(app: Starlette) -> DocumentCache:
    for route in app.routes:
        view = getattr(route, "app", None)
        if isinstance(view, GraphQLView):
            for extension in view.schema.extensions:
                if isinstance(extension, type) and issubclass(extension, CachedDocument):
                    return extension.cache
    raise AssertionError("no GraphQL view")


async def _post(http: httpx.AsyncClient, body: Any, **headers: str) -> httpx.Response:
    return await http.post("/graphql", json=body, headers=headers)


async def test_unknown_hash_is_persisted_query_not_found_with_200(
    http: httpx.AsyncClient,
) -> None:
    query = f"{{ __typename alias_{unique('x').replace('-', '_')}: __typename }}"
    for accept in ("application/json", GQL_JSON):
        response = await _post(http, apq(sha256(query)), accept=accept)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "data" not in body
        assert body["errors"] == [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]


async def test_miss_then_register_then_hit(http: httpx.AsyncClient, app: Starlette) -> None:
    query = f"query Apq {{ __typename miss_hit_{unique('q').replace('-', '_')}: __typename }}"
    sha = sha256(query)
    misses, hits = _metric("apq", "miss"), _metric("apq", "hit")
    first = (await _post(http, apq(sha))).json()
    assert first["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    registered = (await _post(http, apq(sha, query))).json()
    assert registered == {"data": {"__typename": "Query", query.split()[4][:-1]: "Query"}}
    cache = _document_cache(app)
    parsed_before = cache.misses
    for _ in range(3):
        again = (await _post(http, apq(sha))).json()
        assert again == registered
    # A known hash reuses the validated document: no new parse or validation.
    assert cache.misses == parsed_before
    assert _metric("apq", "miss") == misses + 1
    assert _metric("apq", "hit") == hits + 3


async def test_query_by_hash_over_get(client_for: Callable[..., GraphQLClient]) -> None:
    user = client_for(unique("apq-get"))
    query = "query Me($x: Boolean!) { me @include(if: $x) { userId } }"
    sha = sha256(query)
    await user.data(query, {"x": True})  # a plain request stores nothing
    params = {
        "extensions": json.dumps({"persistedQuery": {"version": 1, "sha256Hash": sha}}),
        "variables": json.dumps({"x": True}),
    }
    miss = await user.http.get("/graphql", params=params, headers={**user.headers, **PREFLIGHT})
    assert miss.status_code == 200
    assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    stored = await user.http.get(
        "/graphql", params={**params, "query": query}, headers={**user.headers, **PREFLIGHT}
    )
    assert stored.json() == {"data": {"me": {"userId": user.sub}}}
    hit = await user.http.get(
        "/graphql", params=params, headers={**user.headers, **PREFLIGHT, "accept": "*/*"}
    )
    assert hit.status_code == 200
    assert hit.json() == {"data": {"me": {"userId": user.sub}}}


async def test_mutation_by_hash_over_get_is_405(client_for: Callable[..., GraphQLClient]) -> None:
    user = client_for(unique("apq-mut"))
    slug = unique("apq-get")
    mutation = f'mutation {{ createOrganization(input: {{name: "G", slug: "{slug}"}}) {{ slug }} }}'
    ext = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": sha256(mutation)}})
    response = await user.http.get(
        "/graphql",
        params={"query": mutation, "extensions": ext},
        headers={**user.headers, **PREFLIGHT},
    )
    assert response.status_code == 405


async def test_hash_mismatch_is_400_and_nothing_runs_or_is_stored(
    client_for: Callable[..., GraphQLClient],
) -> None:
    user = client_for(unique("apq-bad"))
    slug = unique("never")
    mutation = f'mutation {{ createOrganization(input: {{name: "N", slug: "{slug}"}}) {{ id }} }}'
    wrong = sha256(mutation + " ")
    for accept in ("application/json", GQL_JSON):
        response = await _post(user.http, apq(wrong, mutation), accept=accept, **user.headers)
        assert response.status_code == 400, response.text
        error = response.json()["errors"][0]
        assert error["message"] == "provided sha does not match query"
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
    # Nothing ran: the user has no organization, and the slug is still free.
    me = await user.data("{ me { memberships { role } } }")
    assert me["me"]["memberships"] == []
    # Nothing was stored under either hash.
    for sha in (wrong, sha256(mutation)):
        body = (await _post(user.http, apq(sha), **user.headers)).json()
        assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    created = await user.data(mutation)
    assert created["createOrganization"]["id"]


async def test_hash_mismatch_over_get_is_400(http: httpx.AsyncClient) -> None:
    ext = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": sha256("{ me { id } }")}})
    response = await http.get(
        "/graphql", params={"query": "{ __typename }", "extensions": ext}, headers=PREFLIGHT
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_malformed_persisted_query_extension_is_400(http: httpx.AsyncClient) -> None:
    bad: list[dict[str, Any]] = [
        {"persistedQuery": {"version": 2, "sha256Hash": sha256("{ __typename }")}},
        {"persistedQuery": {"version": 1, "sha256Hash": "not-a-hash"}},
        {"persistedQuery": "yes"},
        {"documentId": 42},
    ]
    for extensions in bad:
        response = await _post(http, {"query": "{ __typename }", "extensions": extensions})
        assert response.status_code == 400, extensions
    two_ids = {
        "documentId": sha256("{ a }"),
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256("{ b }")}},
    }
    assert (await _post(http, two_ids)).status_code == 400


async def test_document_id_names_a_stored_query(http: httpx.AsyncClient) -> None:
    query = f"{{ doc_{unique('d').replace('-', '_')}: __typename }}"
    sha = sha256(query)
    assert (await _post(http, apq(sha, query))).status_code == 200
    for body in (
        {"documentId": sha},
        {"documentId": f"sha256:{sha}"},
        {"extensions": {"documentId": sha}},
    ):
        data = (await _post(http, body)).json()["data"]
        assert list(data.values()) == ["Query"]


async def test_get_by_hash_is_not_taken_for_the_ide(http: httpx.AsyncClient) -> None:
    query = f"{{ ide_{unique('i').replace('-', '_')}: __typename }}"
    sha = sha256(query)
    await _post(http, apq(sha, query))
    ext = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": sha}})
    response = await http.get(
        "/graphql",
        params={"extensions": ext},
        headers={"accept": "text/html,application/json;q=0.9", **PREFLIGHT},
    )
    assert response.status_code == 200
    assert list(response.json()["data"].values()) == ["Query"]

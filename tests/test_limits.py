"""Operation limits (depth, aliases, tokens) and the process-wide document cache."""

from __future__ import annotations

import uuid

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from graphql_api.limits import CachedDocument, DocumentCache, LimitConfig
from graphql_api.schema import AppSchema, build_schema
from graphql_api.settings import Settings
from graphql_api.view import GraphQLView
from tests.support.graphql import token

AUTH = {"authorization": f"Bearer {token('limits-user')}"}


def schema_cache(app: Starlette) -> DocumentCache:
    for route in app.routes:
        if isinstance(route, Route) and isinstance(route.endpoint, GraphQLView):
            for ext in route.endpoint.schema.extensions:
                if isinstance(ext, type) and issubclass(ext, CachedDocument):
                    return ext.cache
    raise AssertionError("no CachedDocument extension on the app's schema")


async def codes(http: httpx.AsyncClient, query: str) -> list[str]:
    response = await http.post(
        "/graphql",
        json={"query": query},
        headers={**AUTH, "accept": "application/graphql-response+json"},
    )
    body = response.json()
    assert response.status_code == 400, body
    assert "data" not in body
    return [e["extensions"]["code"] for e in body["errors"]]


def chain(levels: int) -> str:
    """`{ me { memberships { organization { members { nodes { ... } } } } } }` `levels` deep."""
    names = ["me", "memberships", "organization", "members", "nodes"]
    path = names[:levels]
    inner = "__typename"
    for name in reversed(path):
        inner = f"{name} {{ {inner} }}"
    return "{ " + inner + " }"


def cache_of(schema: AppSchema) -> DocumentCache:
    return next(
        e.cache for e in schema.extensions if isinstance(e, type) and issubclass(e, CachedDocument)
    )


async def test_depth_over_the_limit() -> None:
    # The schema has no cycle deeper than the default limit yet, so use a smaller one.
    schema = build_schema(LimitConfig(max_depth=3))
    at_limit = cache_of(schema).get(chain(3))[1]
    assert at_limit == []
    result = await schema.execute(chain(4))
    assert result.errors
    assert result.errors[0].extensions["code"] == "QUERY_TOO_COMPLEX"
    assert result.errors[0].extensions["depth"] == 4


async def test_depth_counts_through_fragments() -> None:
    schema = build_schema(LimitConfig(max_depth=3))
    query = """
    query { ...A }
    fragment A on Query { me { ...B } }
    fragment B on User { memberships { ...C } }
    fragment C on Membership { organization { members { nodes { id } } } }
    """
    result = await schema.execute(query)
    assert result.errors
    assert result.errors[0].extensions["code"] == "QUERY_TOO_COMPLEX"


def aliased(count: int) -> str:
    # Under one root field, so that only the alias limit is in play.
    return "{ me { " + " ".join(f"a{i}: userId" for i in range(count)) + " } }"


async def test_too_many_aliases(http: httpx.AsyncClient, settings: Settings) -> None:
    response = await http.post(
        "/graphql", json={"query": aliased(settings.max_aliases + 1)}, headers=AUTH
    )
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["aliases"] == settings.max_aliases + 1


async def test_aliases_at_the_limit_pass(http: httpx.AsyncClient, settings: Settings) -> None:
    response = await http.post(
        "/graphql", json={"query": aliased(settings.max_aliases)}, headers=AUTH
    )
    assert response.status_code == 200
    assert len(response.json()["data"]["me"]) == settings.max_aliases


async def test_too_many_tokens(http: httpx.AsyncClient, settings: Settings) -> None:
    fields = " ".join("__typename" for _ in range(settings.max_tokens + 1))
    assert await codes(http, "{ " + fields + " }") == ["QUERY_TOO_COMPLEX"]


@pytest.mark.parametrize("query", ["{ me { userId", "{ me { noSuchField } }"])
async def test_failures_are_cached_too(app: Starlette, http: httpx.AsyncClient, query: str) -> None:
    cache = schema_cache(app)
    await codes(http, query)
    hits = cache.hits
    assert await codes(http, query) == ["BAD_USER_INPUT"]
    assert cache.hits == hits + 1


async def test_the_document_cache_really_hits(app: Starlette, http: httpx.AsyncClient) -> None:
    cache = schema_cache(app)
    # A text of its own: the counters are shared with whatever else runs on the session app.
    query = f"query CacheProbe{uuid.uuid4().hex} {{ me {{ userId }} }}"
    assert query not in cache._entries
    before_hits = cache.hits
    documents = []
    for _ in range(2):
        response = await http.post("/graphql", json={"query": query}, headers=AUTH)
        assert response.json()["data"]["me"]["userId"] == "limits-user"
        documents.append(cache._entries[query][0])
    # Parsed and validated once: the second request reused the very same document.
    assert documents[0] is documents[1] is not None
    assert cache.hits >= before_hits + 1
    print(f"document cache: {cache.hits} hits, {cache.misses} misses")


def test_validation_rules_are_built_once() -> None:
    cache = cache_of(build_schema())
    rules = cache.rules
    cache.get("{ __typename }")
    cache.get("{ __typename }")
    assert cache.rules is rules
    assert (cache.hits, cache.misses) == (1, 1)


def test_cache_is_bounded() -> None:
    cache = cache_of(build_schema(LimitConfig(cache_size=3)))
    for i in range(5):
        cache.get(f"{{ a{i}: __typename }}")
    cache.get("{ a0: __typename }")
    assert cache.misses == 6
    assert len(cache._entries) == 3


def test_huge_query_texts_are_not_kept() -> None:
    cache = cache_of(build_schema(LimitConfig(max_cached_query_chars=100)))
    huge = "{ __typename" + " " * 200 + "}"
    cache.get(huge)
    cache.get(huge)
    assert (cache.hits, cache.misses, len(cache._entries)) == (0, 2, 0)

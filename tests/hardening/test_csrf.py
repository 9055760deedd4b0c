"""CSRF: a request a browser could send cross-site without a CORS preflight must carry a
preflight-forcing header (GET, and POSTs with simple content types); JSON POSTs need none."""

from __future__ import annotations

import json

import httpx
import pytest

from graphql_api.guards import CSRF_MESSAGE
from tests.support.graphql import token

AUTH = {"authorization": f"Bearer {token('hardening-csrf')}"}
ME = "{ me { userId } }"


def refused(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["message"] == CSRF_MESSAGE
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_get_query_without_a_preflight_header_is_refused(http: httpx.AsyncClient) -> None:
    refused(await http.get("/graphql", params={"query": ME}, headers=AUTH))


async def test_get_by_hash_without_a_preflight_header_is_refused(http: httpx.AsyncClient) -> None:
    ext = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}})
    refused(await http.get("/graphql", params={"extensions": ext}, headers=AUTH))


@pytest.mark.parametrize("header", ["apollo-require-preflight", "x-apollo-operation-name"])
async def test_get_query_with_a_preflight_header_runs(http: httpx.AsyncClient, header: str) -> None:
    response = await http.get("/graphql", params={"query": ME}, headers={**AUTH, header: "Me"})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["me"]["userId"] == "hardening-csrf"


async def test_empty_preflight_header_does_not_count(http: httpx.AsyncClient) -> None:
    response = await http.get(
        "/graphql", params={"query": ME}, headers={**AUTH, "apollo-require-preflight": " "}
    )
    refused(response)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
    ],
)
async def test_simple_content_type_posts_are_refused(
    http: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = dict(AUTH)
    if content_type is not None:
        headers["content-type"] = content_type
    response = await http.post("/graphql", content=json.dumps({"query": ME}), headers=headers)
    refused(response)


async def test_simple_content_type_with_the_header_is_still_not_parsed(
    http: httpx.AsyncClient,
) -> None:
    # The header lifts the CSRF refusal; the body is still only accepted as JSON (multipart
    # and forms stay off).
    response = await http.post(
        "/graphql",
        content=json.dumps({"query": ME}),
        headers={**AUTH, "content-type": "text/plain", "apollo-require-preflight": "true"},
    )
    assert response.status_code == 400
    assert "Unsupported content type" in response.text


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
async def test_json_posts_need_no_header(http: httpx.AsyncClient, content_type: str) -> None:
    response = await http.post(
        "/graphql",
        content=json.dumps({"query": ME}),
        headers={**AUTH, "content-type": content_type},
    )
    assert response.status_code == 200
    assert response.json()["data"]["me"]["userId"] == "hardening-csrf"


async def test_graphiql_page_load_needs_no_header(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


async def test_mutation_over_get_is_refused_before_anything_runs(http: httpx.AsyncClient) -> None:
    query = 'mutation { createOrganization(input: {name: "x", slug: "csrf-get"}) { id } }'
    refused(await http.get("/graphql", params={"query": query}, headers=AUTH))

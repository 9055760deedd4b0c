"""Plain helpers for tests: tokens, GraphQL calls, response checks."""

from __future__ import annotations

from typing import Any

import httpx

from graphql_api.auth.jwt import mint_hs256
from graphql_api.settings import DEV_AUDIENCE, DEV_HS256_SECRET, DEV_ISSUER

TEST_SECRET = DEV_HS256_SECRET


def token(sub: str, email: str | None = None, name: str | None = None, **extra: Any) -> str:
    return mint_hs256(
        TEST_SECRET,
        sub=sub,
        email=email if email is not None else f"{sub}@example.test",
        name=name or sub,
        issuer=DEV_ISSUER,
        audience=DEV_AUDIENCE,
        extra=extra or None,
    )


class GraphQLClient:
    """Posts operations as one user (or anonymously) through an httpx client."""

    def __init__(self, http: httpx.AsyncClient, sub: str | None, email: str | None = None):
        self.http = http
        self.sub = sub
        self.email = email if email is not None else (f"{sub}@example.test" if sub else None)
        self.headers = {"authorization": f"Bearer {token(sub, self.email)}"} if sub else {}

    async def raw(
        self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={**self.headers, **kwargs.pop("headers", {})},
            **kwargs,
        )

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.raw(query, variables)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self.execute(query, variables)
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def error_code(self, query: str, variables: dict[str, Any] | None = None) -> str:
        body = await self.execute(query, variables)
        assert body.get("errors"), f"expected an error, got {body}"
        code: str = body["errors"][0]["extensions"]["code"]
        return code


async def all_pages(
    client: GraphQLClient,
    query: str,
    variables: dict[str, Any],
    path: list[str],
    first: int,
) -> tuple[list[Any], int]:
    """Every node of a connection (at `path` in the data), following endCursor `first` at a
    time; and how many requests that took."""
    seen: list[Any] = []
    after: str | None = None
    calls = 0
    while True:
        conn: Any = await client.data(query, {**variables, "first": first, "after": after})
        for key in path:
            conn = conn[key]
        assert len(conn["nodes"]) <= first
        seen += conn["nodes"]
        calls += 1
        if not conn["pageInfo"]["hasNextPage"]:
            return seen, calls
        after = conn["pageInfo"]["endCursor"]

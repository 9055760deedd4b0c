"""Plain helpers: API keys through the public API, and calls made with them."""

from __future__ import annotations

from typing import Any

import httpx

CREATE_KEY = """
mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) {
    secret
    apiKey { id name role manifest prefix status lastUsedAt revokedAt createdBy }
  }
}"""
REVOKE_KEY = "mutation($id: ID!) { revokeApiKey(id: $id) { id status revokedAt } }"
LIST_KEYS = """
query($id: ID!) {
  organization(id: $id) {
    apiKeys { nodes { id name role manifest prefix status lastUsedAt revokedAt } }
  }
}"""


async def call_with_key(
    http: httpx.AsyncClient, secret: str, body: dict[str, Any], **headers: str
) -> httpx.Response:
    return await http.post(
        "/graphql", json=body, headers={"authorization": f"ApiKey {secret}", **headers}
    )


def by_id(sha: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """A request naming a persisted operation the way Apollo's persisted-query-list link does."""
    return {
        "variables": variables or {},
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha}},
    }

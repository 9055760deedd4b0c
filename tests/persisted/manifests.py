"""Plain helpers: Apollo persisted-query manifests, registering them, APQ request bodies."""

from __future__ import annotations

import hashlib
from typing import Any

from graphql_api.common.ids import from_global_id
from graphql_api.context import Resources
from graphql_api.store import keys
from tests.support.graphql import GraphQLClient

ORG_NAME = "query OrgName($id: ID!) { organization(id: $id) { name viewerRole } }"
ORG_SLUG = "query OrgSlug($id: ID!) { organization(id: $id) { slug } }"
CREATE_TEAM = "mutation NewTeam($input: CreateTeamInput!) { createTeam(input: $input) { name } }"
REGISTER = """
mutation($orgId: ID!, $client: String!, $manifest: JSON!) {
  registerPersistedQueryManifest(orgId: $orgId, clientName: $client, manifest: $manifest) {
    clientName version operationCount registeredBy
  }
}"""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def operation(body: str, name: str | None = None, op_type: str = "query") -> dict[str, str]:
    name = name or body.split()[1].split("(")[0]
    return {"id": sha256(body), "name": name, "type": op_type, "body": body}


def manifest(*operations: dict[str, str]) -> dict[str, Any]:
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": list(operations),
    }


def apq(sha: str, query: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha}},
        **extra,
    }
    if query is not None:
        body["query"] = query
    return body


async def register(
    admin: GraphQLClient, org_id: str, client: str, value: dict[str, Any]
) -> dict[str, Any]:
    data = await admin.data(REGISTER, {"orgId": org_id, "client": client, "manifest": value})
    result: dict[str, Any] = data["registerPersistedQueryManifest"]
    return result


async def audit_entries(resources: Resources, org_gid: str, action: str) -> list[dict[str, Any]]:
    """An org's audit entries of one action, read from the table (newest first)."""
    org_id = from_global_id(org_gid).org_id
    items = await resources.store.query_all(keys.audit_pk(org_id), forward=False)
    return [i for i in items if i["action"] == action]

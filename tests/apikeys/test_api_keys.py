"""Partner API keys: creation, authentication, the manifest boundary, revocation, audit."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import httpx

from graphql_api.common.ids import from_global_id
from graphql_api.context import Resources
from graphql_api.store import keys
from tests.apikeys.keys import CREATE_KEY, LIST_KEYS, REVOKE_KEY, by_id, call_with_key
from tests.conftest import unique
from tests.persisted.manifests import (
    CREATE_TEAM,
    ORG_NAME,
    ORG_SLUG,
    apq,
    audit_entries,
    manifest,
    operation,
    register,
    sha256,
)
from tests.support.factories import OrgFixture, create_org
from tests.support.graphql import GraphQLClient

PARTNER = "partner-app"


async def _org_with_manifest(client_for: Callable[..., GraphQLClient]) -> OrgFixture:
    org = await create_org(client_for, roles=["ADMIN", "MANAGER"])
    ops = [operation(ORG_NAME), operation(CREATE_TEAM, op_type="mutation")]
    await register(org.clients["ADMIN"], org.id, PARTNER, manifest(*ops))
    return org


async def _create_key(
    admin: GraphQLClient, org_id: str, role: str = "MANAGER", client: str = PARTNER
) -> dict[str, Any]:
    data = await admin.data(
        CREATE_KEY,
        {"input": {"orgId": org_id, "name": "Partner sync", "role": role, "manifest": client}},
    )
    result: dict[str, Any] = data["createApiKey"]
    return result


async def test_create_returns_the_secret_once_and_stores_only_its_hash(
    client_for: Callable[..., GraphQLClient], resources: Resources
) -> None:
    org = await _org_with_manifest(client_for)
    admin = org.clients["ADMIN"]
    created = await _create_key(admin, org.id)
    secret, key = created["secret"], created["apiKey"]
    assert secret.startswith(key["prefix"] + "_")
    assert key == {
        **key,
        "name": "Partner sync",
        "role": "MANAGER",
        "manifest": PARTNER,
        "status": "ACTIVE",
        "lastUsedAt": None,
        "revokedAt": None,
        "createdBy": admin.sub,
    }
    listed = await admin.data(LIST_KEYS, {"id": org.id})
    assert secret not in str(listed)
    assert [k["id"] for k in listed["organization"]["apiKeys"]["nodes"]] == [key["id"]]
    gid = from_global_id(key["id"])
    stored = [
        await resources.store.get(keys.api_key(gid.org_id, gid.id)),
        await resources.store.get(keys.api_key_lookup(gid.id)),
    ]
    assert secret not in str(stored)
    assert stored[1] is not None
    assert stored[1]["secretHash"] == hashlib.sha256(secret.encode()).hexdigest()


async def test_key_runs_its_manifest_operations_in_its_org_with_its_role(
    client_for: Callable[..., GraphQLClient], http: httpx.AsyncClient
) -> None:
    org = await _org_with_manifest(client_for)
    secret = (await _create_key(org.clients["ADMIN"], org.id))["secret"]
    response = await call_with_key(http, secret, by_id(sha256(ORG_NAME), {"id": org.id}))
    assert response.status_code == 200
    assert response.json() == {
        "data": {"organization": {"name": "Test Org", "viewerRole": "MANAGER"}}
    }
    # The same operation by documentId, and with its text alongside the hash.
    for body in (
        {"documentId": sha256(ORG_NAME), "variables": {"id": org.id}},
        apq(sha256(ORG_NAME), ORG_NAME, variables={"id": org.id}),
    ):
        data = (await call_with_key(http, secret, body)).json()["data"]
        assert data["organization"]["viewerRole"] == "MANAGER"
    name = unique("partner-team")
    created = await call_with_key(
        http,
        secret,
        by_id(sha256(CREATE_TEAM), {"input": {"orgId": org.id, "name": name}}),
    )
    assert created.json() == {"data": {"createTeam": {"name": name}}}


async def test_key_runs_nothing_outside_its_manifest(
    client_for: Callable[..., GraphQLClient], http: httpx.AsyncClient
) -> None:
    org = await _org_with_manifest(client_for)
    secret = (await _create_key(org.clients["ADMIN"], org.id))["secret"]
    # A query an ordinary user stored through APQ is still not the key's to run.
    await org.clients["ADMIN"].http.post("/graphql", json=apq(sha256(ORG_SLUG), ORG_SLUG))
    attempts: list[dict[str, Any]] = [
        {"query": "{ __typename }"},
        {"query": ORG_NAME, "variables": {"id": org.id}},
        by_id(sha256(ORG_SLUG), {"id": org.id}),
        apq(sha256(ORG_SLUG), ORG_SLUG, variables={"id": org.id}),
        {"documentId": sha256("{ me { userId } }")},
    ]
    for body in attempts:
        response = await call_with_key(http, secret, body)
        assert response.status_code == 200
        payload = response.json()
        assert "data" not in payload, body
        assert payload["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"


async def test_key_sees_other_tenants_as_missing(
    client_for: Callable[..., GraphQLClient], http: httpx.AsyncClient
) -> None:
    org = await _org_with_manifest(client_for)
    other = await create_org(client_for, roles=[])
    secret = (await _create_key(org.clients["ADMIN"], org.id))["secret"]
    response = await call_with_key(http, secret, by_id(sha256(ORG_NAME), {"id": other.id}))
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_role_is_capped_at_manager(client_for: Callable[..., GraphQLClient]) -> None:
    org = await _org_with_manifest(client_for)
    admin, owner = org.clients["ADMIN"], org.clients["OWNER"]
    for role in ("OWNER", "ADMIN"):
        for creator in (admin, owner):
            variables = {"input": {"orgId": org.id, "name": "k", "role": role, "manifest": PARTNER}}
            assert await creator.error_code(CREATE_KEY, variables) == "BAD_USER_INPUT"
    for role in ("MEMBER", "VIEWER"):
        assert (await _create_key(admin, org.id, role))["apiKey"]["role"] == role


async def test_creating_needs_a_registered_manifest_and_a_name(
    client_for: Callable[..., GraphQLClient],
) -> None:
    org = await _org_with_manifest(client_for)
    admin = org.clients["ADMIN"]
    for name, client in (("k", "no-such-client"), (" ", PARTNER), ("k", "bad#name")):
        variables = {"input": {"orgId": org.id, "name": name, "role": "VIEWER", "manifest": client}}
        assert await admin.error_code(CREATE_KEY, variables) == "BAD_USER_INPUT"


async def test_only_admins_manage_keys(
    client_for: Callable[..., GraphQLClient], http: httpx.AsyncClient
) -> None:
    org = await _org_with_manifest(client_for)
    created = await _create_key(org.clients["ADMIN"], org.id)
    manager = org.clients["MANAGER"]
    variables = {"input": {"orgId": org.id, "name": "k", "role": "VIEWER", "manifest": PARTNER}}
    assert await manager.error_code(CREATE_KEY, variables) == "FORBIDDEN"
    assert await manager.error_code(REVOKE_KEY, {"id": created["apiKey"]["id"]}) == "FORBIDDEN"
    assert await manager.error_code(LIST_KEYS, {"id": org.id}) == "FORBIDDEN"
    outsider = client_for(unique("outsider"))
    assert await outsider.error_code(CREATE_KEY, variables) == "NOT_FOUND"
    assert await outsider.error_code(REVOKE_KEY, {"id": created["apiKey"]["id"]}) == "NOT_FOUND"


async def test_wrong_malformed_and_revoked_keys_are_unauthenticated(
    client_for: Callable[..., GraphQLClient], http: httpx.AsyncClient
) -> None:
    org = await _org_with_manifest(client_for)
    admin = org.clients["ADMIN"]
    created = await _create_key(admin, org.id)
    secret = created["secret"]
    wrong = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    request = by_id(sha256(ORG_NAME), {"id": org.id})
    for bad in (wrong, "gqa_nope", "", secret.replace("gqa_", "xyz_")):
        response = await call_with_key(http, bad, request)
        body = response.json()
        assert "data" not in body
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", bad
    revoked = await admin.data(REVOKE_KEY, {"id": created["apiKey"]["id"]})
    assert revoked["revokeApiKey"]["status"] == "REVOKED"
    assert revoked["revokeApiKey"]["revokedAt"]
    body = (await call_with_key(http, secret, request)).json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await admin.error_code(REVOKE_KEY, {"id": created["apiKey"]["id"]}) == ("BAD_USER_INPUT")


async def test_a_key_manages_no_keys_even_from_its_manifest(
    client_for: Callable[..., GraphQLClient], http: httpx.AsyncClient
) -> None:
    org = await create_org(client_for, roles=["ADMIN"])
    admin = org.clients["ADMIN"]
    await register(admin, org.id, PARTNER, manifest(operation(CREATE_KEY, "CreateKey", "mutation")))
    secret = (await _create_key(admin, org.id))["secret"]
    variables = {"input": {"orgId": org.id, "name": "k", "role": "VIEWER", "manifest": PARTNER}}
    body = (await call_with_key(http, secret, by_id(sha256(CREATE_KEY), variables))).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_last_use_is_recorded_at_most_once_a_minute(
    client_for: Callable[..., GraphQLClient], http: httpx.AsyncClient
) -> None:
    org = await _org_with_manifest(client_for)
    admin = org.clients["ADMIN"]
    secret = (await _create_key(admin, org.id))["secret"]

    async def last_used() -> str | None:
        nodes = (await admin.data(LIST_KEYS, {"id": org.id}))["organization"]["apiKeys"]["nodes"]
        value: str | None = nodes[0]["lastUsedAt"]
        return value

    assert await last_used() is None
    await call_with_key(http, secret, by_id(sha256(ORG_NAME), {"id": org.id}))
    first = await last_used()
    assert first is not None
    await call_with_key(http, secret, by_id(sha256(ORG_NAME), {"id": org.id}))
    assert await last_used() == first


async def test_creation_and_revocation_are_audited(
    client_for: Callable[..., GraphQLClient], resources: Resources
) -> None:
    org = await _org_with_manifest(client_for)
    admin = org.clients["ADMIN"]
    created = await _create_key(admin, org.id)
    await admin.data(REVOKE_KEY, {"id": created["apiKey"]["id"]})
    kid = from_global_id(created["apiKey"]["id"]).id
    made = await audit_entries(resources, org.id, "api_key.created")
    gone = await audit_entries(resources, org.id, "api_key.revoked")
    assert [(e["entityId"], e["actorId"], e["details"]) for e in made] == [
        (kid, admin.sub, {"name": "Partner sync", "role": "MANAGER", "manifest": PARTNER})
    ]
    assert [(e["entityId"], e["actorId"], e["entityType"]) for e in gone] == [
        (kid, admin.sub, "ApiKey")
    ]
    assert created["secret"] not in str(made + gone)


async def test_a_replaced_manifest_changes_what_keys_run_at_once(
    client_for: Callable[..., GraphQLClient], http: httpx.AsyncClient
) -> None:
    org = await _org_with_manifest(client_for)
    admin = org.clients["ADMIN"]
    secret = (await _create_key(admin, org.id))["secret"]
    await register(admin, org.id, PARTNER, manifest(operation(ORG_SLUG)))
    old = (await call_with_key(http, secret, by_id(sha256(ORG_NAME), {"id": org.id}))).json()
    assert old["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    new = (await call_with_key(http, secret, by_id(sha256(ORG_SLUG), {"id": org.id}))).json()
    assert new == {"data": {"organization": {"slug": org.slug}}}

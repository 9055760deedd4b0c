"""Registering persisted-query manifests (Apollo's format): checks, access, replacement."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql_api.context import Resources
from tests.conftest import unique
from tests.persisted.manifests import (
    ORG_NAME,
    ORG_SLUG,
    REGISTER,
    audit_entries,
    manifest,
    operation,
    register,
)
from tests.support.factories import create_org
from tests.support.graphql import GraphQLClient

LIST = """
query($orgId: ID!) {
  persistedQueryManifests(orgId: $orgId) {
    nodes { clientName version operationCount operations { nodes { id name type body } } }
  }
}"""


def _vars(org_id: str, value: Any, client: str = "partner-app") -> dict[str, Any]:
    return {"orgId": org_id, "client": client, "manifest": value}


async def test_admin_registers_and_lists_a_manifest(
    client_for: Callable[..., GraphQLClient],
) -> None:
    org = await create_org(client_for, roles=["ADMIN"])
    admin = org.clients["ADMIN"]
    ops = [operation(ORG_NAME), operation(ORG_SLUG)]
    result = await register(admin, org.id, "partner-app", manifest(*ops))
    assert result == {
        "clientName": "partner-app",
        "version": 1,
        "operationCount": 2,
        "registeredBy": admin.sub,
    }
    listed = (await admin.data(LIST, {"orgId": org.id}))["persistedQueryManifests"]["nodes"]
    assert [m["clientName"] for m in listed] == ["partner-app"]
    got = sorted(listed[0]["operations"]["nodes"], key=lambda o: o["name"])
    assert got == sorted(({**o, "type": "QUERY"} for o in ops), key=lambda o: o["name"])


async def test_registering_again_replaces_the_manifest(
    client_for: Callable[..., GraphQLClient],
) -> None:
    org = await create_org(client_for, roles=["ADMIN"])
    admin = org.clients["ADMIN"]
    await register(admin, org.id, "app", manifest(operation(ORG_NAME)))
    second = await register(admin, org.id, "app", manifest(operation(ORG_SLUG)))
    assert second["version"] == 2
    listed = (await admin.data(LIST, {"orgId": org.id}))["persistedQueryManifests"]["nodes"]
    assert [o["name"] for o in listed[0]["operations"]["nodes"]] == ["OrgSlug"]


async def test_only_admins_register_and_list(client_for: Callable[..., GraphQLClient]) -> None:
    org = await create_org(client_for)
    value = manifest(operation(ORG_NAME))
    for role in ("MANAGER", "MEMBER", "VIEWER"):
        code = await org.clients[role].error_code(REGISTER, _vars(org.id, value))
        assert code == "FORBIDDEN", role
        assert await org.clients[role].error_code(LIST, {"orgId": org.id}) == "FORBIDDEN"
    outsider = client_for(unique("outsider"))
    assert await outsider.error_code(REGISTER, _vars(org.id, value)) == "NOT_FOUND"
    assert await outsider.error_code(LIST, {"orgId": org.id}) == "NOT_FOUND"
    anonymous = client_for(None)
    assert await anonymous.error_code(REGISTER, _vars(org.id, value)) == "UNAUTHENTICATED"


async def test_bad_manifests_are_bad_user_input(client_for: Callable[..., GraphQLClient]) -> None:
    org = await create_org(client_for, roles=["ADMIN"])
    admin = org.clients["ADMIN"]
    good = operation(ORG_NAME)
    bad_cases: list[tuple[str, Any]] = [
        ("id is not the body's sha256", manifest({**good, "id": "0" * 64})),
        ("uppercase id", manifest({**good, "id": good["id"].upper()})),
        ("wrong format", {**manifest(good), "format": "relay"}),
        ("wrong version", {**manifest(good), "version": 2}),
        ("operations not a list", {**manifest(good), "operations": {}}),
        ("unknown type", manifest({**good, "type": "fragment"})),
        ("empty body", manifest(operation(" ", name="Blank"))),
        ("does not validate", manifest(operation("query Nope { nope }"))),
        ("does not parse", manifest(operation("query Broken {", name="Broken"))),
        ("declared type differs", manifest(operation(ORG_NAME, op_type="mutation"))),
        ("not an object", [good]),
    ]
    for label, value in bad_cases:
        code = await admin.error_code(REGISTER, _vars(org.id, value))
        assert code == "BAD_USER_INPUT", label
    bad_client = await admin.error_code(REGISTER, _vars(org.id, manifest(good), "a#b"))
    assert bad_client == "BAD_USER_INPUT"
    listed = (await admin.data(LIST, {"orgId": org.id}))["persistedQueryManifests"]["nodes"]
    assert listed == []


async def test_registration_is_audited(
    client_for: Callable[..., GraphQLClient], resources: Resources
) -> None:
    org = await create_org(client_for, roles=["ADMIN"])
    admin = org.clients["ADMIN"]
    await register(admin, org.id, "audited-app", manifest(operation(ORG_NAME)))
    entries = await audit_entries(resources, org.id, "persisted_manifest.registered")
    assert [
        (e["actorId"], e["actorKind"], e["entityType"], e["entityId"], e["details"])
        for e in entries
    ] == [
        (
            admin.sub,
            "user",
            "PersistedQueryManifest",
            "audited-app",
            {"clientName": "audited-app", "operations": 1, "version": 1},
        )
    ]

"""Tenants with one object of every kind, for the schema-driven hardening suites.

The fixtures have names of their own (`hardened`, `tenants`): the other hardening modules
keep the session app. The app and table here are the package's own, on serial_moto
(workspaces add their members concurrently).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from graphql_api.common.ids import from_global_id, new_id, to_global_id
from tests.media.helpers import create_upload, upload
from tests.persisted.manifests import ORG_NAME, manifest, operation, register
from tests.support.domain_factories import Workspace, create_workspace
from tests.support.factories import INVITE, uid
from tests.support.isolated import IsolatedApp, isolated_app
from tests.support.serial_moto import SerialMotoServer, serial_moto_fixture  # noqa: F401

CREATE_KEY = """
mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }"""
MANIFEST_CLIENT = "web"


@dataclass
class Tenant:
    """A workspace plus one real global ID per type name (keyed by the ID's own prefix)."""

    ws: Workspace
    ids: dict[str, str] = field(default_factory=dict)

    def add(self, global_id: str) -> None:
        self.ids.setdefault(from_global_id(global_id).type_name, global_id)

    def missing(self, type_name: str) -> str:
        """An ID of this type in this tenant's org (or a fresh org) that names nothing."""
        gid = from_global_id(self.ids[type_name])
        org = new_id() if type_name == "Organization" else gid.org_id
        return to_global_id(type_name, org, new_id() if type_name != "Organization" else org)


async def build_tenant(app: IsolatedApp, s3: httpx.AsyncClient) -> Tenant:
    ws = await create_workspace(app.client_for)
    owner = ws.client("OWNER")
    tenant = Tenant(ws)
    for gid in (ws.org_id, ws.checklist_id, ws.team_id, ws.member_id("MEMBER")):
        tenant.add(gid)
    assignment = await ws.assign()
    tenant.add(assignment["id"])
    run = await ws.start(assignment["id"])
    tenant.add(run["id"])
    # The assignment notified MEMBER (ASSIGNED): a notification of this tenant's.
    notes = await ws.client("MEMBER").data("{ me { notifications(first: 1) { nodes { id } } } }")
    tenant.add(notes["me"]["notifications"]["nodes"][0]["id"])
    invite = await owner.data(
        INVITE, {"input": {"orgId": ws.org_id, "email": f"{uid('inv')}@x.test", "role": "MEMBER"}}
    )
    tenant.add(invite["inviteMember"]["invitation"]["id"])
    target = {"kind": "RUN", "id": run["id"]}
    tenant.add((await create_upload(owner, ws.org_id, target))["upload"]["id"])
    tenant.add((await upload(owner, s3, ws.org_id, target))["id"])
    await register(owner, ws.org_id, MANIFEST_CLIENT, manifest(operation(ORG_NAME)))
    key = await owner.data(
        CREATE_KEY,
        {
            "input": {
                "orgId": ws.org_id,
                "name": "partner",
                "role": "MEMBER",
                "manifest": MANIFEST_CLIENT,
            }
        },
    )
    tenant.add(key["createApiKey"]["apiKey"]["id"])
    sub = owner.sub
    assert sub is not None
    tenant.add(to_global_id("User", "", sub))
    return tenant


@pytest.fixture(scope="package")
async def hardened(serial_moto: SerialMotoServer) -> AsyncIterator[IsolatedApp]:
    async with isolated_app(serial_moto) as app:
        yield app


@pytest.fixture(scope="package")
async def tenants(hardened: IsolatedApp) -> tuple[Tenant, Tenant]:
    """Two organizations, A and B, each with one object of every kind."""
    async with httpx.AsyncClient(timeout=10) as s3:
        return await build_tenant(hardened, s3), await build_tenant(hardened, s3)

"""Concurrent createUploads never share the same free space."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from graphql_api.context import Resources
from graphql_api.orgs.plans import Plan, limits_of
from tests.media.helpers import CREATE_UPLOAD, set_storage, upload_input
from tests.support.factories import create_org
from tests.support.graphql import GraphQLClient


async def test_concurrent_uploads_fit_the_quota_exactly(
    client_for: Callable[..., GraphQLClient], resources: Resources
) -> None:
    org = await create_org(client_for, roles=["MEMBER", "MANAGER"], plan=None)
    quota = limits_of(Plan.FREE).storage_bytes
    assert quota is not None
    await set_storage(resources, org.id, quota - 100)
    clients = [org.clients[r] for r in ("OWNER", "MEMBER", "MANAGER")] * 2
    variables = {"input": upload_input(org.id, {"kind": "AVATAR"}, size=30)}
    bodies = await asyncio.gather(*(c.execute(CREATE_UPLOAD, variables) for c in clients))
    codes = sorted(
        b["errors"][0]["extensions"]["code"] if b.get("errors") else "OK" for b in bodies
    )
    # 100 free bytes hold three uploads of 30, whatever the interleaving.
    assert codes == ["LIMIT_EXCEEDED"] * 3 + ["OK"] * 3

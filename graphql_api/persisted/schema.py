"""Persisted-query manifest queries and mutations (ADMIN+), with their access rules."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from graphql_api.common.node import decode_in_org
from graphql_api.common.types import JSON, Connection, connection
from graphql_api.context import Context
from graphql_api.limits import CachedDocument
from graphql_api.persisted import repository as repo
from graphql_api.persisted import service
from graphql_api.persisted.types import PersistedQueryManifest
from graphql_api.rbac.permissions import IsUser, org_role
from graphql_api.rbac.roles import Role
from graphql_api.store.pagination import page_size


def _document_check(info: Info[Context, Any]) -> service.DocumentCheck:
    """The schema's own parse/validate cache, so manifests meet the same rules and limits."""
    for extension in info.schema.extensions:
        if isinstance(extension, type) and issubclass(extension, CachedDocument):
            return extension.cache.get
    raise RuntimeError("the schema has no document cache")


@strawberry.type
class Query:
    @strawberry.field(
        description="The organization's persisted query manifests, by client name (ADMIN+).",
        permission_classes=[org_role(Role.ADMIN, "org_id")],
    )
    async def persisted_query_manifests(
        self,
        info: Info[Context, Any],
        org_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[PersistedQueryManifest]:
        ctx = info.context
        gid = decode_in_org(ctx, org_id, "Organization")
        size = page_size(first)
        scope = f"{gid.org_id}:pqManifests"
        start = ctx.cursors.decode(after, scope) if after else None
        page = await repo.page_manifests(ctx, gid.org_id, size + 1, start)
        return connection(page, size, PersistedQueryManifest.from_item, ctx.cursors, scope)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description=(
            "Register (or replace) a client's persisted query manifest, in the format "
            "@apollo/generate-persisted-query-manifest writes (ADMIN+). Every operation's id "
            "must be the SHA-256 of its body and every operation must validate; API keys "
            "bound to this client may then run exactly these operations."
        ),
        permission_classes=[IsUser, org_role(Role.ADMIN, "org_id")],
    )
    async def register_persisted_query_manifest(
        self,
        info: Info[Context, Any],
        org_id: strawberry.ID,
        client_name: str,
        manifest: JSON,
    ) -> PersistedQueryManifest:
        gid = decode_in_org(info.context, org_id, "Organization")
        item = await service.register_manifest(
            info.context, gid.org_id, client_name, manifest, _document_check(info)
        )
        return PersistedQueryManifest.from_item(item)

"""The merged schema: every domain's Query, Mutation and Subscription, plus extensions."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, Info
from strawberry.types.base import get_object_definition

from graphql_api.apikeys import schema as apikeys_schema
from graphql_api.assignments import schema as assignments_schema
from graphql_api.checklists import schema as checklists_schema
from graphql_api.common.node import resolve_node
from graphql_api.common.types import SCALAR_MAP, Node
from graphql_api.context import Context
from graphql_api.errors_ext import ShapeErrors, log_unexpected
from graphql_api.limits import CachedDocument, DocumentCache, LimitConfig
from graphql_api.media import schema as media_schema
from graphql_api.notifications import schema as notifications_schema
from graphql_api.orgs import schema as orgs_schema
from graphql_api.persisted import schema as persisted_schema
from graphql_api.presence import schema as presence_schema
from graphql_api.runs import schema as runs_schema
from graphql_api.subscriptions import schema as subscriptions_schema
from graphql_api.subscriptions.sharing import SharingExecutionContext
from graphql_api.teams import schema as teams_schema
from graphql_api.users import schema as users_schema


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global ID (tenant-checked).")
    async def node(self, info: Info[Context, Any], id: strawberry.ID) -> Node:
        result: Node = await resolve_node(info.context, id)
        return result


Query = merge_types(
    "Query",
    (
        users_schema.Query,
        orgs_schema.Query,
        teams_schema.Query,
        checklists_schema.Query,
        assignments_schema.Query,
        runs_schema.Query,
        media_schema.Query,
        persisted_schema.Query,
        NodeQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        orgs_schema.Mutation,
        teams_schema.Mutation,
        checklists_schema.Mutation,
        assignments_schema.Mutation,
        runs_schema.Mutation,
        media_schema.Mutation,
        presence_schema.Mutation,
        apikeys_schema.Mutation,
        persisted_schema.Mutation,
        notifications_schema.Mutation,
    ),
)
Subscription = subscriptions_schema.Subscription

# merge_types takes no description; the root types are documented like every other type.
for _root, _doc in ((Query, "Reads: the caller, organizations, any node."), (Mutation, "Changes.")):
    get_object_definition(_root, strict=True).description = _doc


class AppSchema(strawberry.Schema):
    """Logs unexpected errors with the request id before they are masked."""

    document_cache: DocumentCache

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        ctx = execution_context.context if execution_context else None
        log_unexpected(errors, getattr(ctx, "request_id", "-"))


def build_schema(limits: LimitConfig | None = None) -> AppSchema:
    """A schema whose parse/validate cache and limits are fixed for the process."""
    limits = limits or LimitConfig()
    # A subclass per schema, so each schema keeps its own cache and rules.
    cached: type[CachedDocument] = type("CachedDocumentForSchema", (CachedDocument,), {})
    schema = AppSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # Subscription events shared by many subscribers execute once (subscriptions/sharing).
        execution_context_class=SharingExecutionContext,
        extensions=[cached, ShapeErrors],
        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALAR_MAP),
    )
    cached.cache = DocumentCache(
        schema._schema, limits, (MaybeNullValidationRule, OneOfInputValidationRule)
    )
    schema.document_cache = cached.cache
    return schema


def schema_sdl() -> str:
    return build_schema().as_str() + "\n"

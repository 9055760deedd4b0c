"""Operation limits and the document cache.

Parsing and validation run once per distinct query text: the validated document is cached
(LRU) and reused. The validation rules, limits included, are built once per process; the
factory form of Strawberry's limiter extensions would create new rule classes per request,
and a validation cache keyed on those rules would never hit.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from graphql_api.cost import needs_variables, operation_cost
from graphql_api.errors import ErrorCode
from graphql_api.settings import Settings


@dataclass(frozen=True)
class LimitConfig:
    """Per-process operation limits (see README: Limits)."""

    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4000
    max_root_fields: int = 20
    max_directives: int = 50
    max_cost: int = 5000
    introspection: bool = True
    # Strip graphql-core's "Did you mean ...?" hints: they map the schema for a caller who has
    # no introspection.
    hide_suggestions: bool = False
    cache_size: int = 1000
    # Longer texts are parsed every time: keeps the cache's memory bounded (size x this).
    max_cached_query_chars: int = 50_000

    @classmethod
    def from_settings(cls, settings: Settings) -> LimitConfig:
        return cls(
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            max_root_fields=settings.max_root_fields,
            max_directives=settings.max_directives,
            max_cost=settings.max_cost,
            introspection=settings.introspection_enabled,
            hide_suggestions=settings.suggestions_hidden,
        )


def _limit_error(message: str, node: Any = None, **ext: Any) -> GraphQLError:
    return GraphQLError(
        message, node, extensions={"code": ErrorCode.QUERY_TOO_COMPLEX.value, **ext}
    )


def _depth(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str],
) -> int:
    if selection_set is None:
        return 0
    deepest = 0
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            if sel.name.value.startswith("__"):
                continue
            deepest = max(deepest, 1 + _depth(sel.selection_set, fragments, seen))
        elif isinstance(sel, InlineFragmentNode):
            deepest = max(deepest, _depth(sel.selection_set, fragments, seen))
        elif isinstance(sel, FragmentSpreadNode):
            name = sel.name.value
            frag = fragments.get(name)
            if frag is not None and name not in seen:
                deepest = max(deepest, _depth(frag.selection_set, fragments, seen | {name}))
    return deepest


def _aliases(node: Any) -> Iterator[FieldNode]:
    selection_set = getattr(node, "selection_set", None)
    if selection_set is None:
        return
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode) and sel.alias is not None:
            yield sel
        yield from _aliases(sel)


def _directives(node: Any) -> int:
    count = len(getattr(node, "directives", None) or ())
    selection_set = getattr(node, "selection_set", None)
    if selection_set is not None:
        count += sum(_directives(sel) for sel in selection_set.selections)
    return count


def _root_fields(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str],
) -> int:
    count = 0
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            count += 1
        elif isinstance(sel, InlineFragmentNode):
            count += _root_fields(sel.selection_set, fragments, seen)
        elif isinstance(sel, FragmentSpreadNode):
            frag = fragments.get(sel.name.value)
            if frag is not None and sel.name.value not in seen:
                count += _root_fields(frag.selection_set, fragments, seen | {sel.name.value})
    return count


def cost_error(cost: int, limit: int, node: Any = None) -> GraphQLError:
    return _limit_error(
        f"Query is too complex: cost {cost} (limit {limit})", node, cost=cost, limit=limit
    )


def make_limit_rule(config: LimitConfig) -> type[ValidationRule]:
    """One rule class for depth, aliases, root fields, directives and cost, created once per
    process."""

    class OperationLimitRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> None:
            ctx: ValidationContext = self.context
            fragments = {
                d.name.value: d for d in node.definitions if isinstance(d, FragmentDefinitionNode)
            }
            aliases = sum(1 for d in node.definitions for _ in _aliases(d))
            if aliases > config.max_aliases:
                ctx.report_error(
                    _limit_error(
                        f"Too many aliases: {aliases} (limit {config.max_aliases})",
                        aliases=aliases,
                        limit=config.max_aliases,
                    )
                )
            directives = sum(_directives(d) for d in node.definitions)
            if directives > config.max_directives:
                ctx.report_error(
                    _limit_error(
                        f"Too many directives: {directives} (limit {config.max_directives})",
                        directives=directives,
                        limit=config.max_directives,
                    )
                )
            for op in node.definitions:
                if isinstance(op, OperationDefinitionNode):
                    roots = _root_fields(op.selection_set, fragments, frozenset())
                    if roots > config.max_root_fields:
                        ctx.report_error(
                            _limit_error(
                                f"Too many root fields: {roots} (limit {config.max_root_fields})",
                                op,
                                rootFields=roots,
                                limit=config.max_root_fields,
                            )
                        )
                    # Variables are unknown here: the cost assumes the default page size for
                    # them, and the view re-checks with the real values before execution.
                    cost = operation_cost(ctx.schema, op, fragments, None)
                    if cost > config.max_cost:
                        ctx.report_error(cost_error(cost, config.max_cost, op))
                    depth = _depth(op.selection_set, fragments, frozenset())
                    if depth > config.max_depth:
                        ctx.report_error(
                            _limit_error(
                                f"Query is too deep: {depth} (limit {config.max_depth})",
                                op,
                                depth=depth,
                                limit=config.max_depth,
                            )
                        )

    return OperationLimitRule


class DocumentCache:
    """LRU of query text -> (document, validation errors), shared by all requests."""

    def __init__(self, schema: GraphQLSchema, config: LimitConfig, extra_rules: tuple[Any, ...]):
        self.schema = schema
        self.config = config
        rules: list[type[ASTValidationRule]] = [*specified_rules, *extra_rules]
        rules.append(make_limit_rule(config))
        if not config.introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        self.rules = tuple(rules)
        self._entries: OrderedDict[str, tuple[DocumentNode | None, list[GraphQLError]]] = (
            OrderedDict()
        )
        self.hits = 0
        self.misses = 0
        # Query texts whose cost depends on variable values (re-checked before execution).
        self._variable_cost: dict[str, bool] = {}

    def get(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        entry = self._entries.get(query)
        if entry is not None:
            self._entries.move_to_end(query)
            self.hits += 1
            return entry
        self.misses += 1
        try:
            document = parse(query, max_tokens=self.config.max_tokens)
        except GraphQLError as exc:
            # graphql-core: "Document contains more than N tokens. Parsing aborted."
            if "tokens. Parsing aborted" in exc.message:
                exc = _limit_error(exc.message, limit=self.config.max_tokens)
            entry = (None, [exc])
        else:
            errors = validate(self.schema, document, self.rules)
            if self.config.hide_suggestions:
                errors = [_without_suggestions(e) for e in errors]
            entry = (document, errors)
        if len(query) > self.config.max_cached_query_chars:
            return entry
        self._entries[query] = entry
        if len(self._entries) > self.config.cache_size:
            evicted, _ = self._entries.popitem(last=False)
            self._variable_cost.pop(evicted, None)
        return entry

    def cost_error(
        self,
        query: str,
        document: DocumentNode,
        operation_name: str | None,
        variables: dict[str, Any] | None,
    ) -> GraphQLError | None:
        """QUERY_TOO_COMPLEX when the real variables make a valid operation too costly.

        Validation assumed the default page size for variable `first`s; most operations have
        none, and for them this is one dict lookup.
        """
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        dynamic = self._variable_cost.get(query)
        if dynamic is None:
            dynamic = any(
                needs_variables(self.schema, d, fragments)
                for d in document.definitions
                if isinstance(d, OperationDefinitionNode)
            )
            if query in self._entries:
                self._variable_cost[query] = dynamic
        if not dynamic or not variables:
            return None
        op = get_operation_ast(document, operation_name)
        if op is None:
            return None
        cost = operation_cost(self.schema, op, fragments, variables)
        if cost > self.config.max_cost:
            return cost_error(cost, self.config.max_cost)
        return None


_SUGGESTION = re.compile(r"\s*Did you mean .*\?\s*$", re.DOTALL)


def _without_suggestions(error: GraphQLError) -> GraphQLError:
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message,
        error.nodes,
        error.source,
        error.positions,
        error.path,
        error.original_error,
        error.extensions,
    )


# Stands in for a query that did not parse. An exception raised from `on_parse` would escape
# Strawberry's operation hooks (no error shaping, no contract code), so a parse failure is
# reported as this placeholder's validation result instead.
_UNPARSABLE = parse("{ __typename }")


class CachedDocument(SchemaExtension):
    """Strawberry extension: parse and validate through the process's DocumentCache."""

    cache: DocumentCache  # set on the class by schema.build_schema

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        assert ec.query is not None
        document, errors = self.cache.get(ec.query)
        ec.graphql_document = document if document is not None else _UNPARSABLE
        if document is not None:
            # Metrics label operations by name; clients need not send operationName for that.
            state = getattr(getattr(ec.context, "request", None), "state", None)
            if state is not None and not getattr(state, "operation_name", None):
                state.operation_name = ec.operation_name
        # Validation errors are stored now; on_validate hands them over.
        self._errors = errors
        yield

    def on_validate(self) -> Iterator[None]:
        self.execution_context.pre_execution_errors = list(self._errors)
        yield

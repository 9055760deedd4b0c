"""Operation limits and the document cache.

Parsing and validation run once per distinct query text: the validated document is cached
(LRU) and reused. The validation rules, limits included, are built once per process; the
factory form of Strawberry's limiter extensions would create new rule classes per request,
and a validation cache keyed on those rules would never hit.
"""

from __future__ import annotations

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
    parse,
    specified_rules,
    validate,
)
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from graphql_api.errors import ErrorCode


@dataclass(frozen=True)
class LimitConfig:
    """Per-process operation limits (see README: Limits)."""

    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 4000
    introspection: bool = True
    cache_size: int = 1000
    # Longer texts are parsed every time: keeps the cache's memory bounded (size x this).
    max_cached_query_chars: int = 50_000


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


def make_limit_rule(config: LimitConfig) -> type[ValidationRule]:
    """One rule class for depth and aliases, created once per process."""

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
            for op in node.definitions:
                if isinstance(op, OperationDefinitionNode):
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
            entry = (document, validate(self.schema, document, self.rules))
        if len(query) > self.config.max_cached_query_chars:
            return entry
        self._entries[query] = entry
        if len(self._entries) > self.config.cache_size:
            self._entries.popitem(last=False)
        return entry


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

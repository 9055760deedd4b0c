"""Static cost of an operation: what a query may make the server do, before it runs.

Every field costs 1. A field that returns many things multiplies the cost of its selection by
how many it may return: its `first` argument (a literal, or a variable's value), the default
page size when a connection is asked without `first`, and the default page size for plain
lists too (their length is bounded by the data, not by an argument) - except a connection's
own `nodes` / `edges`, which are the page already counted. Nested lists multiply.
Introspection fields cost nothing here: introspection is switched per environment instead,
and GraphiQL's introspection query must keep working where it is on.

At validation time the variables are unknown: a variable `first` counts as its declared
default, else the default page size. `needs_variables` says whether the real values could
change the result, so the view re-checks only those operations before executing them.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
)

from graphql_api.store.pagination import DEFAULT_PAGE_SIZE

# The arguments that bound a list's length (Relay's `first`; `last` where a list has it).
SIZE_ARGUMENTS = ("first", "last")


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        op: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any] | None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.defaults: dict[str, Any] = {}
        for definition in op.variable_definitions or ():
            value = definition.default_value
            self.defaults[definition.variable.name.value] = (
                int(value.value) if isinstance(value, IntValueNode) else None
            )
        self.uses_variables = False

    def size(self, field: FieldNode, definition: Any, in_connection: bool) -> int:
        for arg in field.arguments or ():
            if arg.name.value not in SIZE_ARGUMENTS:
                continue
            value = arg.value
            if isinstance(value, IntValueNode):
                return max(int(value.value), 0)
            if isinstance(value, VariableNode):
                self.uses_variables = True
                name = value.name.value
                given = (self.variables or {}).get(name)
                if isinstance(given, int) and not isinstance(given, bool):
                    return max(given, 0)
                default = self.defaults.get(name)
                return default if default is not None else DEFAULT_PAGE_SIZE
        if definition is None:
            return 1
        if any(a in definition.args for a in SIZE_ARGUMENTS):
            return DEFAULT_PAGE_SIZE
        # A connection's `nodes` / `edges` are the page its `first` already counted.
        if not in_connection and isinstance(get_nullable_type(definition.type), GraphQLList):
            return DEFAULT_PAGE_SIZE
        return 1

    def cost(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        seen: frozenset[str],
        in_connection: bool = False,
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                name = sel.name.value
                if name.startswith("__"):
                    continue
                # Object and interface types have fields; unions and unknown names do not.
                fields = getattr(parent, "fields", None) or {}
                definition = fields.get(name)
                child = get_named_type(definition.type) if definition is not None else None
                size = self.size(sel, definition, in_connection)
                sized = definition is not None and any(a in definition.args for a in SIZE_ARGUMENTS)
                total += 1 + size * self.cost(sel.selection_set, child, seen, sized)
            elif isinstance(sel, InlineFragmentNode):
                condition = sel.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total += self.cost(sel.selection_set, target, seen, in_connection)
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    target = self.schema.get_type(fragment.type_condition.name.value)
                    total += self.cost(fragment.selection_set, target, seen | {name}, in_connection)
        return total


def operation_cost(
    schema: GraphQLSchema,
    op: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any] | None,
) -> int:
    """The operation's cost; `variables=None` assumes defaults for variable sizes."""
    return _cost(schema, op, fragments, variables)[0]


def needs_variables(
    schema: GraphQLSchema,
    op: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
) -> bool:
    """True when a list size comes from a variable (the real value may change the cost)."""
    return _cost(schema, op, fragments, None)[1]


def _cost(
    schema: GraphQLSchema,
    op: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any] | None,
) -> tuple[int, bool]:
    walk = _Walk(schema, op, fragments, variables)
    root = schema.get_root_type(op.operation)
    return walk.cost(op.selection_set, root, frozenset()), walk.uses_variables

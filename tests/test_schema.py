"""The committed schema.graphql is current, and every type and field is documented."""

from __future__ import annotations

from pathlib import Path

from graphql import (
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
)

from graphql_api.schema import build_schema, schema_sdl

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"
BUILT_IN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}
REGENERATE = ".venv/bin/python -m graphql_api export-schema > schema.graphql"


def graphql_schema() -> GraphQLSchema:
    return build_schema()._schema


def test_committed_schema_is_current() -> None:
    committed = SCHEMA_FILE.read_text()
    assert schema_sdl() == committed, f"schema.graphql is stale: run `{REGENERATE}`"


def test_every_type_and_field_has_a_description() -> None:
    missing: list[str] = []
    types = fields = 0
    for name, type_ in sorted(graphql_schema().type_map.items()):
        if name.startswith("__") or name in BUILT_IN_SCALARS:
            continue
        types += 1
        if not (type_.description or "").strip():
            missing.append(name)
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in type_.fields.items():
                fields += 1
                if not (field.description or "").strip():
                    missing.append(f"{name}.{field_name}")
    print(f"{types} types and {fields} fields checked")
    assert types > 10 and fields > 50
    assert missing == [], f"undocumented: {missing}"


def test_relay_connections_are_documented() -> None:
    schema = graphql_schema()
    connections = [n for n in schema.type_map if n.endswith("Connection")]
    edges = [n for n in schema.type_map if n.endswith("Edge")]
    assert "MemberConnection" in connections
    assert "MemberEdge" in edges
    for name in connections + edges:
        type_ = schema.type_map[name]
        assert isinstance(type_, GraphQLObjectType)
        assert type_.description
        assert all(f.description for f in type_.fields.values()), name


def test_schema_exposes_the_contract_names() -> None:
    schema = graphql_schema()
    assert schema.query_type is not None and schema.mutation_type is not None
    queries = set(schema.query_type.fields)
    mutations = set(schema.mutation_type.fields)
    assert {"me", "organization", "node"} <= queries
    assert {
        "createOrganization",
        "updateOrganization",
        "inviteMember",
        "acceptInvitation",
        "revokeInvitation",
        "updateMemberRole",
        "removeMember",
    } <= mutations

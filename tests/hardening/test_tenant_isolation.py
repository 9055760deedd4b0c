"""Tenant isolation, generated from the schema.

Every Query and Mutation field with an ID argument (directly or inside input objects, at any
depth, lists included), and every nested field with one, is called by A's OWNER with B's real
ID in that one slot and A's valid values everywhere else. The answer must be exactly the
answer for an ID of the same type that names nothing (NOT_FOUND, same message, no data), and
no byte of B may appear in it. A field added later is covered without editing this file; an
ID argument whose type this file cannot tell fails the test, naming it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    get_named_type,
    is_leaf_type,
)

from graphql_api.common.ids import from_global_id
from graphql_api.schema import build_schema
from tests.hardening.conftest import MANIFEST_CLIENT, Tenant
from tests.support.domain_factories import due_in

# An ID argument's type, by "<field>.<path>" (exact) or by the argument's own name.
BY_NAME = {
    "orgId": "Organization",
    "teamId": "Team",
    "memberId": "Member",
    "assigneeId": "Member",
    "assigneeIds": "Member",
    "checklistId": "Checklist",
    "assignmentId": "Assignment",
    "runId": "Run",
    "uploadId": "Upload",
    "fileId": "File",
    "ids": "Notification",
}
BY_FIELD_ID = {
    "organization": "Organization",
    "updateOrganization": "Organization",
    "team": "Team",
    "updateTeam": "Team",
    "deleteTeam": "Team",
    "checklist": "Checklist",
    "updateChecklist": "Checklist",
    "publishChecklist": "Checklist",
    "archiveChecklist": "Checklist",
    "assignment": "Assignment",
    "updateAssignment": "Assignment",
    "cancelAssignment": "Assignment",
    "run": "Run",
    "revokeInvitation": "Invitation",
    "revokeApiKey": "ApiKey",
}
# Slots whose type depends on a sibling: (type, sibling values) per variant.
FILE_TARGETS = [
    ("Run", {"kind": "RUN"}),
    ("Run", {"kind": "RUN_ITEM", "itemId": "p1"}),
    ("Checklist", {"kind": "CHECKLIST"}),
    ("Team", {"kind": "TEAM"}),
]
VARIANTS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "files.target.id": FILE_TARGETS,
    "createUpload.input.target.id": FILE_TARGETS,
    "updatePresence.input.entityId": [
        (t, {}) for t in ("Run", "Checklist", "Team", "Assignment", "Organization")
    ],
}
ANY_NODE = "*"  # node(id): every type B has
# Valid values for non-ID slots whose generic value would be refused before the ID is read.
VALUES: dict[str, Any] = {
    "inviteMember.input.email": "someone@example.test",
    "inviteMember.input.role": "MEMBER",
    "createApiKey.input.role": "MEMBER",
    "createApiKey.input.manifest": MANIFEST_CLIENT,
    "createUpload.input.filename": "photo.png",
    "createUpload.input.contentType": "image/png",
    "createUpload.input.size": 100,
    "setItemState.itemId": "c1",
    "setItemState.input.done": True,
    "updateMemberRole.role": "VIEWER",
    "registerPersistedQueryManifest.manifest": {"format": "apollo-persisted-query-manifest"},
}
# How A's OWNER reaches an object type whose fields take ID arguments (nested cells).
ENTRY = {
    "Query": ("query", "", None),
    "Mutation": ("mutation", "", None),
    "User": ("query", "me", None),
    "Organization": ("query", "organization(id: $entry)", "Organization"),
    "Team": ("query", "team(id: $entry)", "Team"),
    "Checklist": ("query", "checklist(id: $entry)", "Checklist"),
    "Assignment": ("query", "assignment(id: $entry)", "Assignment"),
    "Run": ("query", "run(id: $entry)", "Run"),
}


@dataclass(frozen=True)
class Slot:
    """One ID position in one field's arguments."""

    owner: str  # the object type holding the field
    field: str
    path: tuple[str, ...]  # argument name, then input field names ("[]" for list items)
    type_name: str
    siblings: tuple[tuple[str, Any], ...] = ()

    @property
    def name(self) -> str:
        where = ".".join(p for p in self.path if p != "[]")
        extra = ",".join(f"{k}={v}" for k, v in self.siblings)
        return f"{self.owner}.{self.field}({where}:{self.type_name}{'|' + extra if extra else ''})"


def _unwrap(t: Any) -> Any:
    while isinstance(t, GraphQLNonNull | GraphQLList):
        t = t.of_type
    return t


def _id_paths(t: GraphQLInputType, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    inner = t.of_type if isinstance(t, GraphQLNonNull) else t
    if isinstance(inner, GraphQLList):
        yield from _id_paths(inner.of_type, (*path, "[]"))
    elif isinstance(inner, GraphQLInputObjectType):
        for name, f in inner.fields.items():
            yield from _id_paths(f.type, (*path, name))
    elif getattr(inner, "name", None) == "ID":
        yield path


def _key(field: str, path: tuple[str, ...]) -> str:
    return ".".join([field, *(p for p in path if p != "[]")])


def slots(schema: GraphQLSchema) -> tuple[list[Slot], list[str]]:
    """Every ID slot of every field, and the ones this file cannot type."""
    found: list[Slot] = []
    unmapped: list[str] = []
    for owner, t in schema.type_map.items():
        if owner.startswith("__") or owner == "Subscription":
            continue
        if not isinstance(t, GraphQLObjectType):
            continue
        for fname, f in t.fields.items():
            for aname, arg in f.args.items():
                for path in _id_paths(arg.type, (aname,)):
                    key = _key(fname, path)
                    if owner not in ENTRY:
                        unmapped.append(f"{owner}.{key} (no entry path)")
                    elif key in VARIANTS:
                        found += [
                            Slot(owner, fname, path, tn, tuple(sib.items()))
                            for tn, sib in VARIANTS[key]
                        ]
                    elif key == "node.id":
                        found.append(Slot(owner, fname, path, ANY_NODE))
                    else:
                        try:
                            found.append(Slot(owner, fname, path, type_of(fname, path)))
                        except KeyError:
                            unmapped.append(f"{owner}.{key}")
    return found, unmapped


class Values:
    """Valid argument values from A for every slot but the one under test."""

    def __init__(self, a: Tenant, slot: Slot, value: Any) -> None:
        self.a, self.slot, self.value = a, slot, value

    def for_type(self, t: Any, path: tuple[str, ...], required: bool) -> tuple[bool, Any]:
        """(include?, value) for the slot at `path`."""
        key = _key(self.slot.field, path)
        if path == self.slot.path[: len(path)] and self.slot.path[len(path) :] in ((), ("[]",)):
            target = self.slot.path[len(path) :]
            return True, [self.value] if target == ("[]",) else self.value
        if path[:-1] == self.slot.path[:-1] and dict(self.slot.siblings).get(path[-1]):
            return True, dict(self.slot.siblings)[path[-1]]
        if key in VALUES:
            return True, VALUES[key]
        nullable = not isinstance(t, GraphQLNonNull)
        inner = t.of_type if not nullable else t
        on_path = path == self.slot.path[: len(path)]
        if nullable and not on_path and not required:
            return False, None
        if isinstance(inner, GraphQLList):
            include, item = self.for_type(inner.of_type, (*path, "[]"), True)
            return True, [item] if include else []
        if isinstance(inner, GraphQLInputObjectType):
            obj: dict[str, Any] = {}
            for name, f in inner.fields.items():
                needed = _arg_required(f)
                include, v = self.for_type(f.type, (*path, name), needed)
                if include:
                    obj[name] = v
            return True, obj
        return True, self.scalar(inner, path)

    def scalar(self, t: Any, path: tuple[str, ...]) -> Any:
        if isinstance(t, GraphQLEnumType):
            return next(iter(t.values))
        name = t.name
        if name == "ID":
            return self.a.ids[type_of(self.slot.field, path)]
        return {
            "String": "x",
            "Int": 1,
            "Long": 1,
            "Float": 1.0,
            "Boolean": False,
            "JSON": {},
            "DateTime": due_in(24),
        }[name]


def type_of(field: str, path: tuple[str, ...]) -> str:
    """The object type an ID slot names (KeyError: this file cannot tell)."""
    key = _key(field, path)
    if key in VARIANTS:
        return VARIANTS[key][0][0]
    if path[-1] == "id" and len(path) <= 2 and field in BY_FIELD_ID:
        return BY_FIELD_ID[field]
    return BY_NAME[path[-1] if path[-1] != "[]" else path[-2]]


def _arg_required(arg: GraphQLArgument | GraphQLInputField) -> bool:
    return isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined


def operation(
    schema: GraphQLSchema, a: Tenant, slot: Slot, value: str
) -> tuple[str, dict[str, Any]]:
    kind, entry, entry_type = ENTRY[slot.owner]
    owner = schema.type_map[slot.owner]
    assert isinstance(owner, GraphQLObjectType)
    f: GraphQLField = owner.fields[slot.field]
    values = Values(a, slot, value)
    params: list[str] = []
    args: list[str] = []
    variables: dict[str, Any] = {}
    for aname, arg in f.args.items():
        include, v = values.for_type(arg.type, (aname,), _arg_required(arg))
        if include:
            params.append(f"${aname}: {arg.type}")
            args.append(f"{aname}: ${aname}")
            variables[aname] = v
    if entry_type is not None:
        params.append("$entry: ID!")
        variables["entry"] = a.ids[entry_type]
    selection = "" if is_leaf_type(get_named_type(f.type)) else " { __typename }"
    call = f"{slot.field}{'(' + ', '.join(args) + ')' if args else ''}{selection}"
    body = f"{entry} {{ {call} }}" if entry else call
    return f"{kind}{'(' + ', '.join(params) + ')' if params else ''} {{ {body} }}", variables


def cells(schema: GraphQLSchema, b: Tenant) -> tuple[list[tuple[Slot, str]], list[str]]:
    found, unmapped = slots(schema)
    out: list[tuple[Slot, str]] = []
    for slot in found:
        names = (
            sorted(t for t in b.ids if t != "Organization") if slot.type_name == ANY_NODE else []
        )
        for type_name in names or [slot.type_name]:
            if type_name not in b.ids:
                unmapped.append(f"{slot.name}: no {type_name} object built")
                continue
            out.append(
                (Slot(slot.owner, slot.field, slot.path, type_name, slot.siblings), type_name)
            )
    if any(s.type_name == ANY_NODE for s in found):
        out.append((Slot("Query", "node", ("id",), "Organization"), "Organization"))
    return out, unmapped


def _leaks(body: dict[str, Any], b: Tenant) -> list[str]:
    text = str(body)
    secrets = {from_global_id(g).id for t, g in b.ids.items() if t != "User"} | set(b.ids.values())
    secrets.add(from_global_id(b.ws.org_id).org_id)
    return [s for s in secrets if s in text]


def _shape(body: dict[str, Any]) -> tuple[Any, list[dict[str, Any]]]:
    errors = [{k: e.get(k) for k in ("message", "extensions")} for e in body.get("errors", [])]
    return body.get("data"), errors


async def test_other_tenants_ids_are_not_found_everywhere(tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    schema = build_schema()._schema
    table, unmapped = cells(schema, b)
    assert not unmapped, f"ID arguments without a type mapping: {unmapped}"
    owner = a.ws.client("OWNER")
    failures: list[str] = []
    for slot, type_name in table:
        query, other = operation(schema, a, slot, b.ids[type_name])
        got = await owner.execute(query, other)
        # No oracle on B: its real IDs and IDs naming nothing in B answer alike, everywhere.
        b_missing = await owner.execute(*operation(schema, a, slot, b.missing(type_name))[:2])
        if _shape(got) != _shape(b_missing):
            failures.append(f"{slot.name}: B's ID {got} != B's missing ID {b_missing}")
        if leaked := _leaks(got, b):
            failures.append(f"{slot.name}: leaks {leaked}")
        if slot.owner in ("Query", "Mutation"):
            codes = [e["extensions"]["code"] for e in got.get("errors", [])]
            if codes != ["NOT_FOUND"] or got.get("data") is not None:
                failures.append(f"{slot.name}: B's ID is not a bare NOT_FOUND: {got}")
        a_missing = await owner.execute(*operation(schema, a, slot, a.missing(type_name))[:2])
        if _shape(got) != _shape(a_missing):
            failures.append(f"{slot.name}: B's ID {got} != A's missing ID {a_missing}")
    print(f"tenant isolation: {len(table)} cells")
    assert not failures, "\n".join(failures)

"""Role x operation matrix for every mutation of the schema, as one table.

Each row states a mutation's access rule as written in the contract (minimum org role, or a
special rule); the expected outcome of every principal is computed from that rule, not read
off the implementation. A principal is one of the org's roles, a member of another org
(OUTSIDER: NOT_FOUND on org-scoped IDs) or nobody (ANONYMOUS: UNAUTHENTICATED). A cell is
"allowed" when none of FORBIDDEN / NOT_FOUND / UNAUTHENTICATED comes back: a business error
(BAD_USER_INPUT, CONFLICT, ...) means the call got past the access check. Every cell acts on
objects of its own where the operation consumes them. Rows whose dedicated matrix lives
elsewhere name it in `covered_by` (at most half the rows). A mutation added to the schema
without a row fails `test_every_mutation_has_a_row`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from graphql_api.schema import build_schema
from tests.hardening.conftest import CREATE_KEY, MANIFEST_CLIENT, Tenant
from tests.media.helpers import COMPLETE_UPLOAD, DELETE_FILE, create_upload, upload
from tests.persisted.manifests import ORG_NAME, REGISTER, manifest, operation, register
from tests.support.domain_factories import (
    ADD_TEAM_MEMBER,
    CANCEL_ASSIGNMENT,
    CREATE_ASSIGNMENT,
    CREATE_CHECKLIST,
    CREATE_TEAM,
    ITEMS,
    PUBLISH,
    UPDATE_ASSIGNMENT,
    Workspace,
    create_workspace,
    due_in,
)
from tests.support.factories import ACCEPT, CREATE_ORG, INVITE, ROLES, create_org, uid
from tests.support.graphql import GraphQLClient
from tests.support.isolated import IsolatedApp

OK = "ok"
OUTSIDER = "OUTSIDER"
ANONYMOUS = "ANONYMOUS"
PRINCIPALS = [*ROLES, OUTSIDER, ANONYMOUS]
RANK = {role: len(ROLES) - i for i, role in enumerate(ROLES)}
REFUSALS = {"FORBIDDEN", "NOT_FOUND", "UNAUTHENTICATED"}


@dataclass(frozen=True)
class Row:
    """One mutation's access rule; `expect` gives each org role's outcome."""

    rule: str
    expect: dict[str, str]
    org_scoped: bool = True  # outsider NOT_FOUND (else allowed), anonymous UNAUTHENTICATED
    covered_by: str | None = None

    def outcome(self, principal: str) -> str:
        if principal == ANONYMOUS:
            return "UNAUTHENTICATED"
        if principal == OUTSIDER:
            return "NOT_FOUND" if self.org_scoped else OK
        return self.expect[principal]


def at_least(role: str, below: str = "FORBIDDEN") -> dict[str, str]:
    return {r: OK if RANK[r] >= RANK[role] else below for r in ROLES}


def manager_or(**special: str) -> dict[str, str]:
    return {**at_least("MANAGER"), **special}


def covered(rule: str, role: str, test: str) -> Row:
    return Row(rule, at_least(role), covered_by=test)


ORGS = "tests/orgs/test_permissions.py::test_role_matrix"
RUNS = "tests/runs/test_permissions.py::test_role_matrix"
MATRIX: dict[str, Row] = {
    "createOrganization": Row("any user", at_least("VIEWER"), org_scoped=False),
    "acceptInvitation": Row("the invitee (any user)", at_least("VIEWER"), org_scoped=False),
    "updateOrganization": covered("ADMIN+ (OWNER only for plan)", "ADMIN", ORGS),
    "inviteMember": covered("ADMIN+, never above own role", "ADMIN", ORGS),
    "revokeInvitation": covered("ADMIN+ (OWNER for OWNER/ADMIN)", "ADMIN", ORGS),
    "updateMemberRole": covered("ADMIN+, never above own role", "ADMIN", ORGS),
    "removeMember": covered("self or ADMIN+", "ADMIN", ORGS),
    "createTeam": Row("MANAGER+", at_least("MANAGER")),
    "updateTeam": Row("MANAGER+", at_least("MANAGER")),
    "deleteTeam": Row("MANAGER+", at_least("MANAGER")),
    "addTeamMember": Row("MANAGER+ or team LEAD (plain members)", at_least("MANAGER")),
    "removeTeamMember": Row("self, team LEAD or MANAGER+", at_least("MANAGER")),
    "createChecklist": Row("MANAGER+", at_least("MANAGER")),
    "updateChecklist": Row("MANAGER+", at_least("MANAGER")),
    "publishChecklist": Row("MANAGER+", at_least("MANAGER")),
    "archiveChecklist": Row("MANAGER+", at_least("MANAGER")),
    "createAssignment": Row("MANAGER+", at_least("MANAGER")),
    "updateAssignment": Row("MANAGER+", at_least("MANAGER")),
    "cancelAssignment": Row("MANAGER+", at_least("MANAGER")),
    "startRun": covered("assigned MEMBER or MANAGER+", "MEMBER", RUNS),
    "setItemState": covered("assigned MEMBER or MANAGER+", "MEMBER", RUNS),
    "submitRun": covered("assigned MEMBER or MANAGER+", "MEMBER", RUNS),
    "reopenRun": covered("MANAGER+", "MANAGER", RUNS),
    "addComment": covered("assigned MEMBER or MANAGER+", "MEMBER", RUNS),
    "createUpload": covered(
        "MEMBER+ with access to the target", "MEMBER", "tests/media/test_access.py"
    ),
    # Someone else's upload looks missing; VIEWER is refused by role first.
    "completeUpload": Row(
        "own upload only (MEMBER+)",
        {"OWNER": OK, "ADMIN": "NOT_FOUND", "MANAGER": "NOT_FOUND", "MEMBER": "NOT_FOUND"}
        | {"VIEWER": "FORBIDDEN"},
    ),
    "deleteFile": Row("its uploader or MANAGER+", at_least("MANAGER")),
    # Over HTTP the call passes the VIEWER check, then is BAD_USER_INPUT (WebSocket only).
    "updatePresence": Row("VIEWER+ (over its WebSocket)", at_least("VIEWER")),
    "createApiKey": Row("ADMIN+", at_least("ADMIN")),
    "revokeApiKey": Row("ADMIN+", at_least("ADMIN")),
    "registerPersistedQueryManifest": Row("ADMIN+", at_least("ADMIN")),
    "markNotificationsRead": Row("any user (own notifications)", at_least("VIEWER"), False),
}

UPDATE_TEAM = "mutation($id: ID!, $n: String) { updateTeam(input: {id: $id, name: $n}) { id } }"
DELETE_TEAM = "mutation($id: ID!) { deleteTeam(id: $id) { id } }"
REMOVE_TEAM_MEMBER = """mutation($t: ID!, $m: ID!) {
  removeTeamMember(teamId: $t, memberId: $m) { userId } }"""
UPDATE_CHECKLIST = """mutation($id: ID!) {
  updateChecklist(input: {id: $id, expectedVersion: 1, title: "Renamed"}) { id } }"""
ARCHIVE = "mutation($id: ID!) { archiveChecklist(id: $id) { id } }"
MARK_READ = "mutation { markNotificationsRead { id unreadCount } }"
PRESENCE = """mutation($id: ID!) {
  updatePresence(input: {entityId: $id, status: ACTIVE}) { __typename } }"""
REVOKE_KEY = "mutation($id: ID!) { revokeApiKey(id: $id) { id } }"

# Objects each principal gets fresh, by kind.
PER_PRINCIPAL = ["team_del", "team_add", "team_rem", "draft", "assign_up", "assign_cancel"]
PER_PRINCIPAL += ["upload", "file", "key", "token"]


@dataclass
class World:
    """The workspace, the principals' clients and fresh objects per principal."""

    ws: Workspace
    clients: dict[str, GraphQLClient]
    objects: dict[str, dict[str, str]]  # kind -> principal -> id (or token)


async def _team(owner: GraphQLClient, org_id: str, member: str | None) -> str:
    data = await owner.data(CREATE_TEAM, {"input": {"orgId": org_id, "name": uid("team")}})
    tid: str = data["createTeam"]["id"]
    if member:
        await owner.data(ADD_TEAM_MEMBER, {"input": {"teamId": tid, "memberId": member}})
    return tid


async def _draft(owner: GraphQLClient, org_id: str) -> str:
    data = await owner.data(
        CREATE_CHECKLIST, {"input": {"orgId": org_id, "title": "Draft", "items": ITEMS}}
    )
    cid: str = data["createChecklist"]["id"]
    return cid


async def _key(owner: GraphQLClient, org_id: str) -> str:
    data = await owner.data(
        CREATE_KEY,
        {
            "input": {
                "orgId": org_id,
                "name": uid("k"),
                "role": "MEMBER",
                "manifest": MANIFEST_CLIENT,
            }
        },
    )
    kid: str = data["createApiKey"]["apiKey"]["id"]
    return kid


@pytest.fixture(scope="module")
async def world(hardened: IsolatedApp, tenants: tuple[Tenant, Tenant]) -> World:
    ws = await create_workspace(hardened.client_for)
    owner, org = ws.client("OWNER"), ws.org_id
    clients = {r: ws.client(r) for r in ROLES}
    clients[OUTSIDER] = tenants[1].ws.client("OWNER")
    clients[ANONYMOUS] = hardened.client_for(None)
    await register(owner, org, MANIFEST_CLIENT, manifest(operation(ORG_NAME)))
    # acceptInvitation: every principal is invited to a second org under its own email.
    other = await create_org(hardened.client_for, roles=[])
    async with httpx.AsyncClient(timeout=10) as s3:

        async def make(kind: str, principal: str) -> str:
            outsider = ws.member_id("OUTSIDER")
            run_target = {"kind": "CHECKLIST", "id": ws.checklist_id}
            if kind == "team_del":
                return await _team(owner, org, None)
            if kind == "team_add":
                return await _team(owner, org, None)
            if kind == "team_rem":
                return await _team(owner, org, outsider)
            if kind == "draft":
                return await _draft(owner, org)
            if kind in ("assign_up", "assign_cancel"):
                return str((await ws.assign())["id"])
            if kind == "upload":
                return str((await create_upload(owner, org, run_target))["upload"]["id"])
            if kind == "file":
                return str((await upload(owner, s3, org, run_target))["id"])
            if kind == "key":
                return await _key(owner, org)
            email = clients[principal].email or f"{uid('anon')}@x.test"
            data = await other.clients["OWNER"].data(
                INVITE, {"input": {"orgId": other.id, "email": email, "role": "VIEWER"}}
            )
            return str(data["inviteMember"]["token"])

        cells = [(k, p) for k in PER_PRINCIPAL for p in PRINCIPALS]
        # Uploads share the org's storage counter: concurrent ones CONFLICT, so in a row.
        serial = [(k, p) for k, p in cells if k in ("upload", "file")]
        made = dict(zip(serial, [await make(k, p) for k, p in serial], strict=True))
        rest = [c for c in cells if c not in made]
        made |= zip(rest, await asyncio.gather(*(make(k, p) for k, p in rest)), strict=True)
    objects: dict[str, dict[str, str]] = {k: {} for k in PER_PRINCIPAL}
    for (kind, principal), value in made.items():
        objects[kind][principal] = value
    return World(ws, clients, objects)


Attempt = Callable[[World, str, GraphQLClient], Awaitable[dict[str, Any]]]


def _simple(query: str, kind: str, var: str = "id", **extra: Any) -> Attempt:
    async def attempt(w: World, p: str, c: GraphQLClient) -> dict[str, Any]:
        return await c.execute(query, {var: w.objects[kind][p], **extra})

    return attempt


def _fixed(query: str, variables: Callable[[World, str], dict[str, Any]]) -> Attempt:
    async def attempt(w: World, p: str, c: GraphQLClient) -> dict[str, Any]:
        return await c.execute(query, variables(w, p))

    return attempt


async def _remove_team_member(w: World, p: str, c: GraphQLClient) -> dict[str, Any]:
    variables = {"t": w.objects["team_rem"][p], "m": w.ws.member_id("OUTSIDER")}
    return await c.execute(REMOVE_TEAM_MEMBER, variables)


def _assignment_input(w: World, p: str) -> dict[str, Any]:
    return {
        "input": {
            "checklistId": w.ws.checklist_id,
            "assigneeIds": [w.ws.member_id("MEMBER")],
            "dueAt": due_in(24),
        }
    }


ATTEMPTS: dict[str, Attempt] = {
    "createOrganization": _fixed(
        CREATE_ORG, lambda w, p: {"input": {"name": "Matrix", "slug": uid("matrix")}}
    ),
    "acceptInvitation": _simple(ACCEPT, "token", "t"),
    "createTeam": _fixed(
        CREATE_TEAM, lambda w, p: {"input": {"orgId": w.ws.org_id, "name": uid("t")}}
    ),
    "updateTeam": _simple(UPDATE_TEAM, "team_add", n="Renamed"),
    "deleteTeam": _simple(DELETE_TEAM, "team_del"),
    "addTeamMember": _fixed(
        ADD_TEAM_MEMBER,
        lambda w, p: {
            "input": {"teamId": w.objects["team_add"][p], "memberId": w.ws.member_id("OUTSIDER")}
        },
    ),
    "removeTeamMember": _remove_team_member,
    "createChecklist": _fixed(
        CREATE_CHECKLIST,
        lambda w, p: {"input": {"orgId": w.ws.org_id, "title": "New", "items": ITEMS}},
    ),
    "updateChecklist": _simple(UPDATE_CHECKLIST, "draft"),
    # Runs after updateChecklist on the same drafts (rows run in table order).
    "publishChecklist": _simple(PUBLISH, "draft"),
    "archiveChecklist": _simple(ARCHIVE, "draft"),
    "createAssignment": _fixed(CREATE_ASSIGNMENT, _assignment_input),
    "updateAssignment": _fixed(
        UPDATE_ASSIGNMENT,
        lambda w, p: {"input": {"id": w.objects["assign_up"][p], "notes": "moved"}},
    ),
    "cancelAssignment": _simple(CANCEL_ASSIGNMENT, "assign_cancel"),
    "completeUpload": _simple(COMPLETE_UPLOAD, "upload"),
    "deleteFile": _simple(DELETE_FILE, "file"),
    "updatePresence": _fixed(PRESENCE, lambda w, p: {"id": w.ws.checklist_id}),
    "markNotificationsRead": _fixed(MARK_READ, lambda w, p: {}),
    "createApiKey": _fixed(
        CREATE_KEY,
        lambda w, p: {
            "input": {"orgId": w.ws.org_id, "name": "k", "role": "MEMBER"}
            | {"manifest": MANIFEST_CLIENT}
        },
    ),
    "revokeApiKey": _simple(REVOKE_KEY, "key"),
    "registerPersistedQueryManifest": _fixed(
        REGISTER,
        lambda w, p: {
            "orgId": w.ws.org_id,
            "client": f"matrix-{p.lower()}",
            "manifest": manifest(operation(ORG_NAME)),
        },
    ),
}


def category(body: dict[str, Any]) -> str:
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
    refused = [c for c in codes if c in REFUSALS]
    return refused[0] if refused else OK


def test_every_mutation_has_a_row() -> None:
    mutation = build_schema()._schema.mutation_type
    assert mutation is not None
    names = set(mutation.fields)
    assert not names - set(MATRIX), f"mutations without a row: {sorted(names - set(MATRIX))}"
    assert not set(MATRIX) - names, f"rows for no mutation: {sorted(set(MATRIX) - names)}"
    referenced = [n for n, row in MATRIX.items() if row.covered_by]
    assert len(referenced) * 2 <= len(MATRIX), referenced
    run_here = {n for n, row in MATRIX.items() if not row.covered_by}
    assert run_here == set(ATTEMPTS), run_here ^ set(ATTEMPTS)


async def test_role_matrix(world: World) -> None:
    failures: list[str] = []
    business: dict[str, str] = {}  # allowed cells answered with a business error
    count = 0
    started = time.monotonic()
    for name, attempt in ATTEMPTS.items():
        row = MATRIX[name]
        bodies = await asyncio.gather(*(attempt(world, p, world.clients[p]) for p in PRINCIPALS))
        for principal, body in zip(PRINCIPALS, bodies, strict=True):
            count += 1
            got, want = category(body), row.outcome(principal)
            if got != want:
                failures.append(f"{name} as {principal}: {got}, want {want} ({body})")
            elif got == OK and body.get("errors"):
                business[f"{name}/{principal}"] = body["errors"][0]["extensions"]["code"]
    referenced = sum(len(PRINCIPALS) for row in MATRIX.values() if row.covered_by)
    print(
        f"role matrix: {count} cells run here, {referenced} referenced elsewhere, "
        f"{len(MATRIX)} mutations, {time.monotonic() - started:.1f}s; "
        f"allowed with a business error: {business}"
    )
    assert not failures, "\n".join(failures)

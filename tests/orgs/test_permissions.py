"""Role rules of every member mutation, as one table: actor x operation -> outcome.

The expected table is computed from the rules of issue 2, not read off the implementation:
- ADMIN or above to invite, change roles, remove others and revoke invitations;
- never grant (or invite at) a role above your own;
- only an OWNER touches OWNER and ADMIN roles (inviting, changing, removing, revoking);
- only an OWNER changes the plan; ADMIN or above renames;
- a non-member gets NOT_FOUND, a caller without a token UNAUTHENTICATED.
Every cell acts on a target of its own, so cells cannot influence each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from graphql_api.common.ids import from_global_id
from graphql_api.context import Resources
from tests.support.factories import ROLES, OrgFixture, create_org
from tests.support.fast_moto import FastMotoServer, fast_moto_fixture  # noqa: F401
from tests.support.graphql import GraphQLClient
from tests.support.isolated import IsolatedApp, isolated_app
from tests.support.seed import member_roles, seed_invitations, seed_members

OK = "ok"
OUTSIDER = "OUTSIDER"
ANONYMOUS = "ANONYMOUS"
ACTORS = [*ROLES, OUTSIDER, ANONYMOUS]
RANK = {role: len(ROLES) - i for i, role in enumerate(ROLES)}
STRONG = {"OWNER", "ADMIN"}

INVITE = """mutation($org: ID!, $email: String!, $role: Role!) {
  inviteMember(input: {orgId: $org, email: $email, role: $role}) { invitation { role } }
}"""
UPDATE_ROLE = """mutation($id: ID!, $role: Role!) {
  updateMemberRole(memberId: $id, role: $role) { role }
}"""
REMOVE = "mutation($id: ID!) { removeMember(memberId: $id) { userId } }"
REVOKE = "mutation($id: ID!) { revokeInvitation(id: $id) { status } }"
RENAME = """mutation($id: ID!, $name: String!) {
  updateOrganization(input: {id: $id, name: $name}) { name }
}"""
SET_PLAN = """mutation($id: ID!, $plan: Plan!) {
  updateOrganization(input: {id: $id, plan: $plan}) { plan }
}"""


def gate(actor: str) -> str | None:
    """Outcome decided before any role rule: who the caller is."""
    if actor == ANONYMOUS:
        return "UNAUTHENTICATED"
    if actor == OUTSIDER:
        return "NOT_FOUND"
    if RANK[actor] < RANK["ADMIN"]:
        return "FORBIDDEN"
    return None


def expect_invite(actor: str, role: str) -> str:
    early = gate(actor)
    if early:
        return early
    if RANK[role] > RANK[actor] or (role in STRONG and actor != "OWNER"):
        return "FORBIDDEN"
    return OK


def expect_update_role(actor: str, current: str, new: str) -> str:
    early = gate(actor)
    if early:
        return early
    if RANK[new] > RANK[actor] or ({current, new} & STRONG and actor != "OWNER"):
        return "FORBIDDEN"
    return OK


def expect_remove(actor: str, target: str) -> str:
    early = gate(actor)
    if early:
        return early
    return "FORBIDDEN" if target in STRONG and actor != "OWNER" else OK


def expect_revoke(actor: str, invited_role: str) -> str:
    # Revoking undoes an invitation: allowed exactly when issuing it would be.
    return expect_invite(actor, invited_role)


def expect_rename(actor: str) -> str:
    return gate(actor) or OK


def expect_plan(actor: str) -> str:
    return gate(actor) or (OK if actor == "OWNER" else "FORBIDDEN")


@dataclass
class Cell:
    actor: str
    operation: str
    query: str
    variables: dict[str, Any]
    expected: str
    field: str
    target: str | None = None  # member global ID the cell acts on
    target_role: str | None = None
    new_role: str | None = None


@dataclass
class Matrix:
    org: OrgFixture
    clients: dict[str, GraphQLClient]
    cells: list[Cell]
    resources: Resources
    client_for: Callable[..., GraphQLClient]


async def outcome(client: GraphQLClient, cell: Cell) -> str:
    body = await client.execute(cell.query, cell.variables)
    if body.get("errors"):
        assert body["data"] is None or body["data"].get(cell.field) is None, body
        code: str = body["errors"][0]["extensions"]["code"]
        return code
    assert body["data"][cell.field] is not None
    return OK


async def bounded(jobs: list[Callable[[], Awaitable[str]]], limit: int = 8) -> list[str]:
    semaphore = asyncio.Semaphore(limit)

    async def run(job: Callable[[], Awaitable[str]]) -> str:
        async with semaphore:
            return await job()

    return list(await asyncio.gather(*(run(j) for j in jobs)))


@pytest.fixture(scope="module")
async def matrix(fast_moto: FastMotoServer) -> AsyncIterator[Matrix]:
    # A table of its own, on a moto whose transactions do not copy the whole table: hundreds
    # of members would otherwise slow down every transaction of the session.
    async with isolated_app(fast_moto) as iso:
        yield await build_matrix(iso)


async def build_matrix(iso: IsolatedApp) -> Matrix:
    client_for, resources = iso.client_for, iso.resources
    # ENTERPRISE: the fresh targets must not hit a member limit.
    org = await create_org(client_for, plan="ENTERPRISE")
    outsider_org = await create_org(client_for, roles=[], plan=None)
    clients = {
        **org.clients,
        OUTSIDER: outsider_org.clients["OWNER"],
        ANONYMOUS: client_for(None),
    }
    # Invitations first: transactions are cheaper while the table is small.
    revoke_specs = [(a, r) for a in ACTORS for r in ROLES]
    owner_sub = org.clients["OWNER"].sub
    assert owner_sub is not None
    invitations = await seed_invitations(resources, org.id, owner_sub, [r for _, r in revoke_specs])
    cells: list[Cell] = []

    for actor in ACTORS:
        for role in ROLES:
            email = f"invitee-{actor.lower()}-{role.lower()}@example.test"
            cells.append(
                Cell(
                    actor,
                    f"inviteMember({role})",
                    INVITE,
                    {"org": org.id, "email": email, "role": role},
                    expect_invite(actor, role),
                    "inviteMember",
                )
            )

    update_specs = [(a, t, n) for a in ACTORS for t in ROLES for n in ROLES]
    remove_specs = [(a, t) for a in ACTORS for t in ROLES]
    targets = await seed_members(
        resources, org.id, [t for _, t, _ in update_specs] + [t for _, t in remove_specs]
    )
    update_targets, remove_targets = targets[: len(update_specs)], targets[len(update_specs) :]
    for (actor, current, new), target in zip(update_specs, update_targets, strict=True):
        cells.append(
            Cell(
                actor,
                f"updateMemberRole({current}->{new})",
                UPDATE_ROLE,
                {"id": target, "role": new},
                expect_update_role(actor, current, new),
                "updateMemberRole",
                target,
                current,
                new,
            )
        )
    for (actor, current), target in zip(remove_specs, remove_targets, strict=True):
        cells.append(
            Cell(
                actor,
                f"removeMember({current})",
                REMOVE,
                {"id": target},
                expect_remove(actor, current),
                "removeMember",
                target,
                current,
            )
        )

    for (actor, role), invitation in zip(revoke_specs, invitations, strict=True):
        cells.append(
            Cell(
                actor,
                f"revokeInvitation({role})",
                REVOKE,
                {"id": invitation},
                expect_revoke(actor, role),
                "revokeInvitation",
            )
        )

    for actor in ACTORS:
        cells.append(
            Cell(
                actor,
                "updateOrganization(name)",
                RENAME,
                {"id": org.id, "name": f"Renamed by {actor}"},
                expect_rename(actor),
                "updateOrganization",
            )
        )
        cells.append(
            Cell(
                actor,
                "updateOrganization(plan)",
                SET_PLAN,
                {"id": org.id, "plan": "ENTERPRISE"},
                expect_plan(actor),
                "updateOrganization",
            )
        )
    return Matrix(org, clients, cells, resources, client_for)


async def test_role_matrix(matrix: Matrix) -> None:
    # updateOrganization cells share the org's version: run them one by one, the rest in
    # parallel (each has a target of its own).
    shared = [c for c in matrix.cells if c.field == "updateOrganization"]
    independent = [c for c in matrix.cells if c.field != "updateOrganization"]
    results = await bounded(
        [lambda c=c: outcome(matrix.clients[c.actor], c) for c in independent]  # type: ignore[misc]
    )
    for cell in shared:
        results.append(await outcome(matrix.clients[cell.actor], cell))
    ordered = independent + shared
    wrong = [
        f"{c.actor:<9} {c.operation:<36} expected {c.expected:<15} got {got}"
        for c, got in zip(ordered, results, strict=True)
        if got != c.expected
    ]
    tally: dict[str, int] = {}
    for c in ordered:
        tally[c.expected] = tally.get(c.expected, 0) + 1
    print(f"role matrix: {len(ordered)} cells {dict(sorted(tally.items()))}")
    assert not wrong, "\n" + "\n".join(wrong)

    # Refused cells changed nothing; allowed ones did exactly what they said.
    member_cells = [c for c in ordered if c.target is not None]
    roles_now = await member_roles(matrix.resources, [c.target for c in member_cells if c.target])
    for cell, now in zip(member_cells, roles_now, strict=True):
        if cell.field == "removeMember":
            assert (now is None) == (cell.expected == OK), cell
        else:
            assert now == (cell.new_role if cell.expected == OK else cell.target_role), cell


async def test_matrix_covers_every_operation(matrix: Matrix) -> None:
    operations = {c.field for c in matrix.cells}
    assert operations == {
        "inviteMember",
        "updateMemberRole",
        "removeMember",
        "revokeInvitation",
        "updateOrganization",
    }
    assert {c.actor for c in matrix.cells} == set(ACTORS)
    assert len(matrix.cells) == 7 * (5 + 25 + 5 + 5 + 2)


# rules outside the matrix: acting on yourself ---------------------------------------------------
async def fresh_member(matrix: Matrix, role: str) -> tuple[GraphQLClient, str]:
    """A new member of the matrix's org (seeded: no organization to build per test)."""
    (member_id,) = await seed_members(matrix.resources, matrix.org.id, [role])
    sub = from_global_id(member_id).id
    return matrix.client_for(sub), member_id


@pytest.mark.parametrize("role", ["ADMIN", "MANAGER", "MEMBER", "VIEWER"])
async def test_anyone_may_leave(matrix: Matrix, role: str) -> None:
    me, member_id = await fresh_member(matrix, role)
    data = await me.data(REMOVE, {"id": member_id})
    assert data["removeMember"]["userId"] == me.sub
    query = "query($id: ID!) { organization(id: $id) { id } }"
    assert await me.error_code(query, {"id": matrix.org.id}) == "NOT_FOUND"


@pytest.mark.parametrize("role", ["ADMIN", "MANAGER", "MEMBER", "VIEWER"])
async def test_nobody_but_an_owner_changes_their_own_role(matrix: Matrix, role: str) -> None:
    me, member_id = await fresh_member(matrix, role)
    for new in ROLES:
        if new != role:
            code = await me.error_code(UPDATE_ROLE, {"id": member_id, "role": new})
            assert code == "FORBIDDEN", new
    assert (await member_roles(matrix.resources, [member_id])) == [role]

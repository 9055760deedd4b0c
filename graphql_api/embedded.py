"""The embedded default: DynamoDB and S3 served in-process by moto, demo data seeded.

Used by `serve` in development when no DYNAMODB_TABLE is configured. Data lives in memory
and is lost when the process exits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from moto.server import ThreadedMotoServer

from graphql_api.assignments import service as assignments
from graphql_api.auth.jwt import mint_hs256
from graphql_api.auth.principal import Principal
from graphql_api.checklists import service as checklists
from graphql_api.common.ids import to_global_id
from graphql_api.common.time import iso, utcnow
from graphql_api.context import Context, Resources
from graphql_api.orgs import service as orgs
from graphql_api.orgs.plans import Plan
from graphql_api.rbac.roles import Role
from graphql_api.runs import service as runs
from graphql_api.settings import Settings
from graphql_api.teams import service as teams

EMBEDDED_TABLE = "graphql-api-embedded"
EMBEDDED_BUCKET = "graphql-api-embedded"
EMBEDDED_CREDENTIALS = ("embedded", "embedded")


class EmbeddedAws:
    """moto's server on a free loopback port, in a thread of this process."""

    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint = ""

    def start(self) -> str:
        # moto's werkzeug server logs every request; the API's own logs are what matter here.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self.endpoint

    def stop(self) -> None:
        self._server.stop()


@dataclass(frozen=True)
class DemoUser:
    """A seeded user and a ready-to-use token."""

    sub: str
    email: str
    name: str
    role: Role
    token: str


DEMO_PEOPLE = [
    ("demo-owner", "owner@demo.example", "Olivia Owner", Role.OWNER),
    ("demo-admin", "admin@demo.example", "Adam Admin", Role.ADMIN),
    ("demo-manager", "manager@demo.example", "Maya Manager", Role.MANAGER),
    ("demo-member", "member@demo.example", "Milo Member", Role.MEMBER),
    ("demo-viewer", "viewer@demo.example", "Vera Viewer", Role.VIEWER),
]


def demo_token(settings: Settings, sub: str, email: str, name: str) -> str:
    params = settings.jwt_params()
    secret, issuer, audience = params["hs256_secret"], params["issuer"], params["audience"]
    assert secret and issuer and audience
    return mint_hs256(
        secret,
        sub=sub,
        email=email,
        name=name,
        issuer=issuer,
        audience=audience,
        ttl_seconds=7 * 24 * 3600,
    )


async def seed_demo(resources: Resources) -> tuple[str, list[DemoUser]]:
    """A demo organization with one user per role; returns its global ID and the users."""
    users = [
        DemoUser(sub, email, name, role, demo_token(resources.settings, sub, email, name))
        for sub, email, name, role in DEMO_PEOPLE
    ]

    def ctx_of(user: DemoUser) -> Context:
        return Context(resources, principal=Principal(user.sub, user.email, user.name))

    owner = users[0]
    org = await orgs.create_organization(ctx_of(owner), "Acme Operations", "acme-ops")
    await orgs.update_organization(ctx_of(owner), org["id"], None, Plan.STARTER)
    for user in users[1:]:
        _, token = await orgs.invite_member(ctx_of(owner), org["id"], user.email, user.role)
        await orgs.accept_invitation(ctx_of(user), token)
    await _seed_work(org["id"], ctx_of(users[2]), ctx_of(users[3]))
    return to_global_id("Organization", org["id"], org["id"]), users


DEMO_ITEMS: list[dict[str, Any]] = [
    {"id": "brakes", "title": "Brakes hold on the ramp", "kind": "CHECK"},
    {"id": "forks", "title": "Forks and chains undamaged", "kind": "CHECK"},
    {"id": "fuel", "title": "Fuel or charge level (%)", "kind": "NUMBER", "min": 0, "max": 100},
    {"id": "notes", "title": "Anything unusual?", "kind": "TEXT", "required": False},
    {"id": "photo", "title": "Photo of the dashboard", "kind": "PHOTO", "required": False},
]


async def _seed_work(org_id: str, manager: Context, member: Context) -> None:
    """A team, a published checklist, an assignment to the member and their team, and its
    run in progress with some items done. Each step gets a fresh context (no stale cache)."""
    team = await teams.create_team(manager.fresh(), org_id, "Night shift", "Warehouse, 22-06")
    assert member.principal is not None
    uid = member.principal.id
    await teams.add_team_member(manager.fresh(), org_id, team["id"], uid, "LEAD")
    checklist = await checklists.create_checklist(
        manager.fresh(),
        org_id,
        "Forklift pre-shift check",
        "Before a shift's first lift.",
        DEMO_ITEMS,
    )
    await checklists.publish_checklist(manager.fresh(), org_id, checklist["id"], None)
    due = iso(utcnow() + timedelta(days=1))
    assignment = await assignments.create_assignment(
        manager.fresh(), org_id, checklist["id"], [uid], team["id"], due, "HIGH", "Bay 3 forklift"
    )
    run = await runs.start_run(member.fresh(), org_id, assignment["id"])
    for item_id, done, value in (("brakes", True, None), ("fuel", None, 80)):
        await runs.set_item_state(member.fresh(), org_id, run["id"], item_id, done, value, None)

"""The embedded default: DynamoDB and S3 served in-process by moto, demo data seeded.

Used by `serve` in development when no DYNAMODB_TABLE is configured. Data lives in memory
and is lost when the process exits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from moto.server import ThreadedMotoServer

from graphql_api.auth.jwt import mint_hs256
from graphql_api.auth.principal import Principal
from graphql_api.common.ids import to_global_id
from graphql_api.context import Context, Resources
from graphql_api.orgs import service as orgs
from graphql_api.orgs.plans import Plan
from graphql_api.rbac.roles import Role
from graphql_api.settings import Settings

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
    return to_global_id("Organization", org["id"], org["id"]), users

"""Hostile inputs, one table: malformed JSON, huge and mistyped variables, unicode edge cases,
pagination and ID forgeries, document abuse, tokens, and WebSocket protocol abuse against a
real uvicorn server.

Each case says what must come back: the HTTP status and the contract code of the first error
(OK: no error at all). None may be a 5xx or an unmasked error. Cases already covered by
tests/test_http.py, test_csrf.py and test_limits_cost.py are not repeated here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.support import tokens
from tests.support.domain_factories import COMMENT, Workspace, create_workspace
from tests.support.graphql import token
from tests.support.isolated import IsolatedApp
from tests.support.moto_server import MotoServer
from tests.support.servers import (
    LIVE_TEST_SETTINGS,
    AppCluster,
    close_shared_clusters,
    shared_cluster,
    unique_sub,
)
from tests.support.wsclient import open_ws

OK = "OK"
BAD = "BAD_USER_INPUT"
UNAUTH = "UNAUTHENTICATED"
COMPLEX = "QUERY_TOO_COMPLEX"
ME = "{ me { userId } }"
ORG = "query($id: ID!) { organization(id: $id) { id name } }"
MEMBERS = """query($id: ID!, $n: Int, $after: String) {
  organization(id: $id) { members(first: $n, after: $after) { nodes { id } } } }"""
CREATE_ORG = """mutation($name: String!, $slug: String!) {
  createOrganization(input: {name: $name, slug: $slug}) { id name slug } }"""
CREATE_TEAM = """mutation($org: ID!, $name: String!) {
  createTeam(input: {orgId: $org, name: $name}) { id name } }"""
UPDATE_ASSIGNEES = """mutation($id: ID!, $a: [ID!]) {
  updateAssignment(input: {id: $id, assigneeIds: $a}) { id } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
NOTIFICATIONS = "subscription { notificationReceived { id title } }"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def nested(depth: int, leaf: str) -> str:
    return "{ __schema { types { " + "fields { type { " * depth + leaf + " } } " * depth + "} } }"


@dataclass(frozen=True)
class Case:
    """One request: a JSON body (placeholders like "$ORG" filled in), or raw bytes."""

    name: str
    expect: str | None  # contract code of the first error, OK, or None: a plain HTTP refusal
    status: int = 200
    body: Any = None
    raw: bytes | None = None
    auth: str | None = "owner"  # "owner", None (anonymous), or a literal Authorization value
    headers: list[tuple[str, str]] = field(default_factory=list)


def q(name: str, expect: str, query: str, variables: Any = None, **kw: Any) -> Case:
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return Case(name, expect, body=body, **kw)


def raw(name: str, data: bytes, status: int = 400, expect: str | None = None, **kw: Any) -> Case:
    return Case(name, expect, status=status, raw=data, **kw)


def bearer(name: str, value: str, expect: str = UNAUTH) -> Case:
    return q(name, expect, ME, auth=value)


FAR = 10_000
CASES: list[Case] = [
    # malformed JSON and malformed GraphQL-over-HTTP parameters
    raw("json truncated", b'{"query": "{ __typename }"'),
    raw("json trailing garbage", b'{"query": "{ __typename }"} trailing'),
    raw(
        "json invalid utf-8",
        b'{"query": "{ __typename \xff\xfe }"}',
    ),
    raw(
        "json nested 100k deep",
        b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 100_000,
    ),
    # JSON's own encoding detection (RFC 8259 allows UTF-16 readers): answered normally.
    raw("json utf-16 body", '{"query": "{ __typename }"}'.encode("utf-16"), 200, OK),
    Case("variables is a string", None, 400, body={"query": ME, "variables": "{}"}),
    Case("variables is a list", None, 400, body={"query": ME, "variables": [1]}),
    Case("query is a number", None, 400, body={"query": 42}),
    Case("operationName is a number", None, 400, body={"query": ME, "operationName": 7}),
    Case("extensions is a string", None, 400, body={"query": ME, "extensions": "x"}),
    # variables: huge, mistyped, null for non-null
    q("900 KB string variable", BAD, CREATE_TEAM, {"org": "$ORG", "name": "x" * 900_000}),
    q(
        "ID list over the body limit",
        None,
        UPDATE_ASSIGNEES,
        {"id": "$ASSIGNMENT", "a": ["$MEMBER"] * 50_000},
        status=413,
    ),
    # The same member 10k times is one assignee (deduplicated, not 10k writes).
    q("10k-item ID list", OK, UPDATE_ASSIGNEES, {"id": "$ASSIGNMENT", "a": ["$MEMBER"] * FAR}),
    q("10k undeclared variables", OK, ME, {f"v{i}": i for i in range(FAR)}),
    q("boolean for Int", BAD, MEMBERS, {"id": "$ORG", "n": True}),
    q("float for Int", BAD, MEMBERS, {"id": "$ORG", "n": 1.5}),
    # The cost check sees the real `first` before coercion does: refused as too costly.
    q("Int beyond 32 bits", COMPLEX, MEMBERS, {"id": "$ORG", "n": 2**40}),
    q("object for ID", BAD, ORG, {"id": {"$ne": None}}),
    q("list for String", BAD, CREATE_TEAM, {"org": "$ORG", "name": ["a", "b"]}),
    q("null for ID!", BAD, ORG, {"id": None}),
    q("null inside [ID!]", BAD, UPDATE_ASSIGNEES, {"id": "$ASSIGNMENT", "a": [None]}),
    q("literal null for non-null argument", BAD, "{ organization(id: null) { id } }"),
    q("deeply nested input object", BAD, CREATE_TEAM, {"org": "$ORG", "name": {"a": {"b": {}}}}),
    q("nested list for ID", BAD, UPDATE_ASSIGNEES, {"id": "$ASSIGNMENT", "a": [[["$MEMBER"]]]}),
    # unicode edge cases in names, slugs and comments
    # Control characters are data to a name or body (no rule against them in the contract).
    q("NUL in team name", OK, CREATE_TEAM, {"org": "$ORG", "name": "night\u0000shift"}),
    q(
        "lone surrogate in team name",
        BAD,
        CREATE_TEAM,
        {"org": "$ORG", "name": "\ud800x"},
        status=400,
    ),
    q("RTL override in team name", OK, CREATE_TEAM, {"org": "$ORG", "name": "abc\u202egpj.exe"}),
    q("4-byte emoji in team name", OK, CREATE_TEAM, {"org": "$ORG", "name": "shift 🦄🛠️"}),
    q("10k-char team name", BAD, CREATE_TEAM, {"org": "$ORG", "name": "n" * FAR}),
    q("RTL override in slug", BAD, CREATE_ORG, {"name": "Org", "slug": "org-\u202eevil"}),
    q("emoji in slug", BAD, CREATE_ORG, {"name": "Org", "slug": "org-🦄-x"}),
    q("NUL in slug", BAD, CREATE_ORG, {"name": "Org", "slug": "org\u0000x"}),
    q("10k-char slug", BAD, CREATE_ORG, {"name": "Org", "slug": "s" * FAR}),
    q(
        "lone surrogate in comment",
        BAD,
        COMMENT,
        {"run": "$RUN", "body": "hi \udfff"},
        status=400,
    ),
    q("NUL in comment", OK, COMMENT, {"run": "$RUN", "body": "hi\u0000there"}),
    q("emoji and RTL in comment", OK, COMMENT, {"run": "$RUN", "body": "ok 🧪 \u202eabc"}),
    q("10k-char comment", BAD, COMMENT, {"run": "$RUN", "body": "c" * FAR}),
    # pagination
    q("negative first", BAD, MEMBERS, {"id": "$ORG", "n": -1}),
    q("zero first", BAD, MEMBERS, {"id": "$ORG", "n": 0}),
    q("huge first", COMPLEX, MEMBERS, {"id": "$ORG", "n": 2**31 - 1}),
    q("garbage cursor", BAD, MEMBERS, {"id": "$ORG", "after": "!!not a cursor!!"}),
    # An empty `after` is no cursor: the first page.
    q("empty cursor", OK, MEMBERS, {"id": "$ORG", "after": ""}),
    q("forged base64 cursor", BAD, MEMBERS, {"id": "$ORG", "after": b64('{"pk":"ORG#x"}')}),
    q("cursor from another list", BAD, MEMBERS, {"id": "$ORG", "after": "$TEAMS_CURSOR"}),
    # forged global IDs
    q("base64 garbage ID", "NOT_FOUND", ORG, {"id": b64("\x00\xff garbage")}),
    q("non-base64 ID", "NOT_FOUND", ORG, {"id": "%%%***"}),
    q("empty ID", "NOT_FOUND", ORG, {"id": ""}),
    q("wrong type prefix ID", "NOT_FOUND", ORG, {"id": "$TEAM"}),
    q("ID with empty parts", "NOT_FOUND", ORG, {"id": b64("Organization::")}),
    q("node of an unknown type", "NOT_FOUND", NODE, {"id": b64("Secret:abc:def")}),
    q("10k-char ID", "NOT_FOUND", ORG, {"id": "A" * FAR}),
    # document abuse
    q("duplicate operation names", BAD, "query A { me { userId } } query A { __typename }"),
    Case(
        "operationName not found",
        None,
        400,
        body={"query": "query A { __typename }", "operationName": "B"},
    ),
    q(
        "two operations, no operationName",
        BAD,
        "query A { __typename } query B { __typename }",
    ),
    q(
        "fragment cycle",
        BAD,
        "{ me { ...F } } fragment F on User { ...G } fragment G on User { ...F }",
    ),
    q("self-spreading fragment", BAD, "{ me { ...F } } fragment F on User { userId ...F }"),
    q("unknown directive", BAD, "{ me @evil { userId } }"),
    q("directive with a wrong argument type", BAD, '{ me @skip(if: "yes") { userId } }'),
    # graphql-core's MaxIntrospectionDepthRule: a validation error.
    q("introspection nested 8 levels", BAD, nested(8, "name")),
    q(
        "introspection aliased 100 times",
        COMPLEX,
        "{ " + " ".join(f"t{i}: __schema {{ types {{ name }} }}" for i in range(100)) + " }",
    ),
    q(
        "subscription over HTTP",
        BAD,
        NOTIFICATIONS,
    ),
    # tokens
    bearer("8 KiB+ token", "Bearer " + "e" * 9000),
    bearer(
        "8 KiB+ signed token", "Bearer " + tokens.hs256(tokens.claims("mallory", pad="p" * 9000))
    ),
    bearer("Bearer with no token", "Bearer"),
    bearer("Bearer with only spaces", "Bearer    "),
    bearer("lowercase scheme", f"bearer {token('hostile-lower')}", expect=OK),
    bearer(
        "alg None (capitalised)",
        "Bearer "
        + tokens.unsigned(tokens.claims("mallory")).replace(
            tokens.b64json({"alg": "none", "typ": "JWT"}),
            tokens.b64json({"alg": "None", "typ": "JWT"}),
        ),
    ),
    bearer(
        "JWE with a real header",
        "Bearer "
        + ".".join([tokens.b64json({"alg": "RSA-OAEP", "enc": "A256GCM"}), "a", "b", "c", "d"]),
    ),
    bearer(
        "token without sub",
        "Bearer " + tokens.hs256({k: v for k, v in tokens.claims("x").items() if k != "sub"}),
    ),
    bearer("not valid yet (nbf)", "Bearer " + tokens.hs256(tokens.claims("mallory", nbf=2**33))),
    bearer(
        "RS256 header, kid path traversal",
        "Bearer "
        + tokens.hs256(tokens.claims("mallory"), alg="RS256").replace(
            tokens.b64json({"alg": "RS256", "typ": "JWT"}),
            tokens.b64json({"alg": "RS256", "kid": "../../etc/passwd"}),
        ),
    ),
    bearer("ApiKey scheme with garbage", "ApiKey garbage"),
    q(
        "two Authorization headers",
        UNAUTH,
        ME,
        auth=None,
        headers=[
            ("authorization", f"Bearer {token('hostile-two')}"),
            ("authorization", "Bearer garbage"),
        ],
    ),
]


@dataclass
class World:
    ws: Workspace
    values: dict[str, str]


@pytest.fixture(scope="module")
async def world(hardened: IsolatedApp) -> World:
    ws = await create_workspace(hardened.client_for)
    assignment = await ws.assign()
    run = await ws.start(assignment["id"])
    teams = await ws.client("OWNER").data(
        "query($id: ID!) { organization(id: $id) { teams(first: 1) { pageInfo { endCursor } } } }",
        {"id": ws.org_id},
    )
    values = {
        "$ORG": ws.org_id,
        "$TEAM": ws.team_id,
        "$RUN": run["id"],
        "$ASSIGNMENT": assignment["id"],
        "$MEMBER": ws.member_id("MEMBER"),
        "$TEAMS_CURSOR": teams["organization"]["teams"]["pageInfo"]["endCursor"],
    }
    return World(ws, values)


def fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return values.get(value, value)
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    return value


async def send(http: httpx.AsyncClient, world: World, case: Case) -> httpx.Response:
    headers = [("content-type", "application/json"), *case.headers]
    if case.auth == "owner":
        headers.append(("authorization", f"Bearer {token(world.ws.client('OWNER').sub or '')}"))
    elif case.auth is not None:
        headers.append(("authorization", case.auth))
    # json.dumps keeps lone surrogates as \\u escapes, as a hostile client would send them.
    content = case.raw if case.raw is not None else json.dumps(fill(case.body, world.values))
    return await http.post("/graphql", content=content, headers=headers)


def outcome(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"non-JSON {response.text[:80]!r}"
    errors = body.get("errors") if isinstance(body, dict) else None
    if not errors:
        return OK
    code: str = errors[0].get("extensions", {}).get("code", "")
    return code


def test_the_table_is_large_enough() -> None:
    names = [c.name for c in CASES]
    assert len(set(names)) == len(names)
    print(f"hostile inputs: {len(CASES)} HTTP cases + {len(WS_CASES)} WebSocket cases")
    assert len(CASES) + len(WS_CASES) >= 40


PARAMS = [pytest.param(c, id=c.name) for c in CASES]


@pytest.mark.parametrize("case", PARAMS)
async def test_hostile_http_input(hardened: IsolatedApp, world: World, case: Case) -> None:
    response = await send(hardened.http, world, case)
    assert response.status_code < 500, response.text[:500]
    got = outcome(response)
    assert "INTERNAL_SERVER_ERROR" not in response.text, response.text[:500]
    if case.expect is None:
        assert response.status_code == case.status, response.text[:500]
    else:
        assert (response.status_code, got) == (case.status, case.expect), response.text[:500]
    assert "mallory" not in response.text


# WebSocket protocol abuse against a real server process ------------------------------------
@pytest.fixture(scope="session")
async def live(moto: MotoServer) -> AsyncIterator[AppCluster]:
    """The shared two-replica cluster (tests/support/servers.py), closed at session end."""
    yield await shared_cluster(moto)
    await close_shared_clusters()


WS_CASES = [
    "subscribe before ack",
    "duplicate subscription id",
    "unknown message type",
    "invalid JSON frame",
    "oversized frame",
    "second connection_init",
    "binary frame",
    "subscribe without id",
]


@pytest.mark.parametrize("case", WS_CASES)
async def test_websocket_protocol_abuse(live: AppCluster, case: str) -> None:
    async with await open_ws(live[0].ws_url, max_size=None) as ws:
        if case == "subscribe before ack":
            await ws.subscribe(NOTIFICATIONS)
            assert (await ws.closed()).code == 4401
            return
        await ws.init(unique_sub("hostile"))
        if case == "duplicate subscription id":
            await ws.subscribe(NOTIFICATIONS, op_id="same")
            await ws.subscribe(NOTIFICATIONS, op_id="same")
            expected = 4409
        elif case == "unknown message type":
            await ws.send({"type": "launch_missiles", "id": "1"})
            expected = 4400
        elif case == "invalid JSON frame":
            await ws.ws.send("{not json")
            expected = 4400
        elif case == "oversized frame":
            padding = "x" * (LIVE_TEST_SETTINGS["ws_max_message_bytes"] * 4)
            await ws.send({"type": "ping", "payload": {"pad": padding}})
            expected = 1009
        elif case == "second connection_init":
            await ws.send({"type": "connection_init", "payload": {}})
            expected = 4429
        elif case == "binary frame":
            await ws.ws.send(b"\x00\x01\x02")
            expected = 4400
        else:
            await ws.send({"type": "subscribe", "payload": {"query": NOTIFICATIONS}})
            expected = 4400
        assert (await ws.closed()).code == expected

"""Property-based fuzzing of the schema with hypothesis-graphql: valid queries and mutations
generated from schema.graphql, run through the app as a MEMBER with real IDs (of their own
organization, of another, and forged ones). Never a 5xx; every error carries a contract code
other than INTERNAL_SERVER_ERROR (an unmasked or unexpected error would not)."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from hypothesis_graphql import strategies as gql_st

from graphql_api.errors import ErrorCode
from tests.hardening.conftest import Tenant, build_tenant
from tests.support.isolated import IsolatedApp

SCHEMA = graphql.build_schema((Path(__file__).parents[2] / "schema.graphql").read_text())
CONTRACT = {c.value for c in ErrorCode} - {ErrorCode.INTERNAL_SERVER_ERROR.value}
EXAMPLES = {"queries": 90, "mutations": 70}
FORGED = [
    "x",
    "",
    base64.urlsafe_b64encode(b"\xff\xfe garbage").decode(),
    base64.urlsafe_b64encode(b"Run:nope:nope").decode(),
    base64.urlsafe_b64encode(b"NoSuchType:a:b").decode(),
    base64.urlsafe_b64encode(b"Team::x").decode(),
]
seen: dict[str, int] = {"queries": 0, "mutations": 0}


@pytest.fixture(scope="module")
async def fuzzed(hardened: IsolatedApp, tenants: tuple[Tenant, Tenant]) -> tuple[Tenant, Tenant]:
    """A tenant of its own (fuzzed mutations change it freely) and B's IDs as strangers'."""
    async with httpx.AsyncClient(timeout=10) as s3:
        return await build_tenant(hardened, s3), tenants[1]


def _strategy(kind: str, own: Tenant, other: Tenant) -> st.SearchStrategy[Any]:
    ids = [*own.ids.values(), *own.ids.values(), *other.ids.values(), *FORGED]
    scalars = {
        "ID": st.sampled_from(ids).map(nodes.String),
        "DateTime": st.sampled_from(
            ["2030-01-01T00:00:00Z", "1970-01-01T00:00:00+00:00", "not a date", ""]
        ).map(nodes.String),
        "Long": st.integers(-(2**63), 2**63 - 1).map(nodes.Int),
        "JSON": st.one_of(
            st.integers(-(10**6), 10**6).map(nodes.Int),
            st.text(max_size=20).map(nodes.String),
            st.booleans().map(nodes.Boolean),
        ),
    }
    build = gql_st.queries if kind == "queries" else gql_st.mutations
    return build(SCHEMA, custom_scalars=scalars)


def check(response: httpx.Response, query: str) -> None:
    assert response.status_code < 500, (response.status_code, query, response.text)
    body = response.json()
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code in CONTRACT, (query, error)


@pytest.mark.parametrize("kind", ["queries", "mutations"])
async def test_generated_operations_never_fail_unmasked(
    fuzzed: tuple[Tenant, Tenant], kind: str
) -> None:
    own, other = fuzzed
    member = own.ws.client("MEMBER")
    strategy = _strategy(kind, own, other)

    @settings(
        max_examples=EXAMPLES[kind],
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(query=strategy)
    def run(query: str) -> None:
        seen[kind] += 1
        call = asyncio.run_coroutine_threadsafe(member.raw(query), loop)
        check(call.result(60), query)

    # Hypothesis drives a plain function: it runs in a thread and hands each request to the
    # test's loop, which the app, its clients and its store belong to.
    loop = asyncio.get_running_loop()
    await asyncio.to_thread(run)
    print(f"fuzz {kind}: {seen[kind]} examples")
    assert seen[kind] >= EXAMPLES[kind] // 2

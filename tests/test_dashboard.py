"""The dashboard query is N+1-free: its DynamoDB calls do not grow with the list."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from graphql_api.metrics import dynamodb_call_count
from tests.support.domain_factories import create_workspace, seed_started_assignments
from tests.support.graphql import GraphQLClient
from tests.support.isolated import IsolatedApp, isolated_app
from tests.support.serial_moto import SerialMotoServer, serial_moto_fixture  # noqa: F401

DASHBOARD = """
query($id: ID!) {
  organization(id: $id) {
    assignments(first: 100) {
      nodes {
        id status
        checklist { title }
        assignees { name }
        team { name }
        run { progress { done total } }
      }
    }
  }
}"""
MAX_CALLS = 6


@pytest.fixture
async def isolated(serial_moto: SerialMotoServer) -> AsyncIterator[IsolatedApp]:
    async with isolated_app(serial_moto) as app:
        yield app


async def _calls(client: GraphQLClient, org_id: str, expected: int) -> int:
    before = dynamodb_call_count()
    data = await client.data(DASHBOARD, {"id": org_id})
    calls = dynamodb_call_count() - before
    nodes = data["organization"]["assignments"]["nodes"]
    assert len(nodes) == expected
    for node in nodes:
        assert node["status"] == "IN_PROGRESS"
        assert node["checklist"]["title"] == "Daily inspection"
        assert node["team"]["name"] == "Night shift"
        assert node["assignees"] and all(a["name"] for a in node["assignees"])
        assert node["run"]["progress"] == {"done": 0, "total": 5}
    return calls


async def test_dashboard_calls_do_not_grow_with_the_list(isolated: IsolatedApp) -> None:
    small, large = await asyncio.gather(
        create_workspace(isolated.client_for), create_workspace(isolated.client_for)
    )
    await seed_started_assignments(isolated.resources, small, 5)
    await seed_started_assignments(isolated.resources, large, 50)
    # Warm the process-wide caches (parsed documents) so both requests measure the same work.
    await _calls(small.client("MANAGER"), small.org_id, 5)
    with_5 = await _calls(small.client("MANAGER"), small.org_id, 5)
    with_50 = await _calls(large.client("MANAGER"), large.org_id, 50)
    print(f"dashboard DynamoDB calls: {with_5} with 5 assignments, {with_50} with 50")
    assert with_5 == with_50
    assert with_50 <= MAX_CALLS

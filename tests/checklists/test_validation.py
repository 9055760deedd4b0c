"""Checklist input validation: per-kind item constraints, item IDs, sizes (BAD_USER_INPUT)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.checklists.helpers import CREATE, UPDATE, create_checklist
from tests.support.factories import OrgFixture, create_org
from tests.support.graphql import GraphQLClient


@pytest.fixture(scope="module")
async def org(http: httpx.AsyncClient) -> AsyncIterator[OrgFixture]:
    yield await create_org(lambda sub, email=None: GraphQLClient(http, sub, email), roles=[])


def check(**extra: Any) -> dict[str, Any]:
    return {"title": "Step", "kind": "CHECK", **extra}


INVALID: dict[str, list[dict[str, Any]]] = {
    "min above max": [check(kind="NUMBER", min=5, max=4)],
    "min on TEXT": [check(kind="TEXT", min=1)],
    "max on CHECK": [check(max=1)],
    "maxLength on NUMBER": [check(kind="NUMBER", maxLength=5)],
    "maxLength 0": [check(kind="TEXT", maxLength=0)],
    "maxLength 10001": [check(kind="TEXT", maxLength=10_001)],
    "maxFiles on TEXT": [check(kind="TEXT", maxFiles=2)],
    "maxFiles 0": [check(kind="PHOTO", maxFiles=0)],
    "maxFiles 21": [check(kind="PHOTO", maxFiles=21)],
    "empty title": [check(title="  ")],
    "long title": [check(title="t" * 201)],
    "long description": [check(description="d" * 1001)],
    "id with a space": [check(itemId="a b")],
    "empty id": [check(itemId="")],
    "long id": [check(itemId="i" * 65)],
    "duplicate ids": [check(itemId="same"), check(itemId="same", title="Other")],
    "201 items": [check() for _ in range(201)],
}

VALID: dict[str, list[dict[str, Any]]] = {
    "min equals max": [check(kind="NUMBER", min=3.5, max=3.5)],
    "only min": [check(kind="NUMBER", min=0)],
    "maxLength bounds": [check(kind="TEXT", maxLength=1), check(kind="TEXT", maxLength=10_000)],
    "maxFiles bounds": [check(kind="PHOTO", maxFiles=1), check(kind="PHOTO", maxFiles=20)],
    "200 items": [check(itemId=f"step-{i}", description="d" * 1000) for i in range(200)],
}


@pytest.mark.parametrize("case", list(INVALID))
async def test_invalid_items_are_bad_user_input(org: OrgFixture, case: str) -> None:
    owner = org.clients["OWNER"]
    items = INVALID[case]
    body = await owner.execute(CREATE, {"input": {"orgId": org.id, "title": "X", "items": items}})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    assert body["errors"][0]["extensions"]["argument"] == "items"


async def test_invalid_items_are_refused_by_update_too(org: OrgFixture) -> None:
    owner = org.clients["OWNER"]
    created = await create_checklist(owner, org.id, items=[])
    for case, items in INVALID.items():
        code = await owner.error_code(
            UPDATE, {"input": {"id": created["id"], "expectedVersion": 1, "items": items}}
        )
        assert code == "BAD_USER_INPUT", case


@pytest.mark.parametrize("case", list(VALID))
async def test_valid_edges_are_accepted(org: OrgFixture, case: str) -> None:
    created = await create_checklist(org.clients["OWNER"], org.id, items=VALID[case])
    assert len(created["items"]) == len(VALID[case])


@pytest.mark.parametrize(
    ("field", "value"), [("title", ""), ("title", "t" * 201), ("description", "d" * 2001)]
)
async def test_checklist_title_and_description_bounds(
    org: OrgFixture, field: str, value: str
) -> None:
    owner = org.clients["OWNER"]
    fields = {"title": "Fine", field: value}
    code = await owner.error_code(CREATE, {"input": {"orgId": org.id, **fields, "items": []}})
    assert code == "BAD_USER_INPUT"

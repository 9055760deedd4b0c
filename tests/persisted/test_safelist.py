"""The safelist setting: whether users may still send free-form operations."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from graphql_api.app import create_app
from graphql_api.context import Context, Resources
from graphql_api.persisted.requests import PersistedQueries
from graphql_api.persisted.transport import resolve_ws_payload
from graphql_api.settings import Settings, SettingsError
from tests.conftest import create_storage, make_settings, unique
from tests.persisted.manifests import apq, manifest, operation, sha256
from tests.support.graphql import token
from tests.support.moto_server import MotoServer

ME = "query Me { me { userId } }"
TYPENAME = "query Typename { __typename }"
ON_SUBSCRIBE = "subscription Tick { __typename }"


@pytest.fixture(scope="module")
def manifest_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("safelist") / "persisted-query-manifest.json"
    path.write_text(json.dumps(manifest(operation(ME), operation(TYPENAME))))
    return path


@pytest.fixture(scope="module")
async def strict(moto: MotoServer, manifest_file: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An app that requires the safelist (as production may)."""
    settings = make_settings(moto, require_safelist=True, safelist_manifest=str(manifest_file))
    await create_storage(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://strict") as client:
            client.headers["authorization"] = f"Bearer {token(unique('strict'))}"
            yield client


def _code(response: httpx.Response) -> str | None:
    errors = response.json().get("errors")
    return errors[0]["extensions"]["code"] if errors else None


async def test_free_form_operations_run_by_default(http: httpx.AsyncClient) -> None:
    assert Settings(app_env="test").safelist_required is False
    response = await http.post("/graphql", json={"query": "{ __typename }"})
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_required_safelist_refuses_free_form_operations(
    strict: httpx.AsyncClient,
) -> None:
    for body in (
        {"query": "{ __typename }"},
        {"query": "query Other { me { email } }"},
        apq(sha256("{ me { email } }"), "{ me { email } }"),
        apq(sha256("{ me { name } }")),
    ):
        response = await strict.post("/graphql", json=body)
        assert response.status_code == 200
        assert "data" not in response.json()
        assert _code(response) == "PERSISTED_QUERY_NOT_ALLOWED", body


async def test_required_safelist_runs_safelisted_operations(strict: httpx.AsyncClient) -> None:
    sub = strict.headers["authorization"]
    for body in (
        apq(sha256(ME)),
        {"documentId": sha256(ME)},
        {"query": ME},  # the exact text of a safelisted operation is as good as its id
        apq(sha256(ME), ME),
    ):
        response = await strict.post("/graphql", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["me"]["userId"], (body, sub)
    get = await strict.get(
        "/graphql",
        params={"documentId": sha256(TYPENAME)},
        headers={"accept": "application/json", "apollo-require-preflight": "1"},
    )
    assert get.json() == {"data": {"__typename": "Query"}}


async def test_a_safelisted_hash_runs_without_the_safelist_required(
    moto: MotoServer, manifest_file: Path
) -> None:
    """A deployed first-party manifest answers its ids even when free-form is allowed."""
    settings = make_settings(moto, safelist_manifest=str(manifest_file))
    persisted = PersistedQueries(settings)
    assert not persisted.required
    assert set(persisted.safelist) == {sha256(ME), sha256(TYPENAME)}


async def test_required_safelist_needs_a_usable_manifest(moto: MotoServer, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SAFELIST_MANIFEST"):
        create_app(make_settings(moto, require_safelist=True))
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(manifest({**operation(ME), "id": "0" * 64})))
    with pytest.raises(SettingsError, match="SHA-256"):
        create_app(make_settings(moto, safelist_manifest=str(broken)))
    with pytest.raises(SettingsError, match="SAFELIST_MANIFEST"):
        create_app(make_settings(moto, safelist_manifest=str(tmp_path / "missing.json")))


async def test_websocket_operations_follow_the_same_rules(
    resources: Resources, manifest_file: Path, settings: Settings
) -> None:
    strict = PersistedQueries(
        settings.model_copy(
            update={"require_safelist": True, "safelist_manifest": str(manifest_file)}
        )
    )
    strict.attach(resources.extras["kv"])
    ctx = Context(resources)
    payload, error = await resolve_ws_payload(strict, ctx, {"query": ON_SUBSCRIBE})
    assert payload is None and error is not None
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    payload, error = await resolve_ws_payload(strict, ctx, apq(sha256(ME)))
    assert error is None and payload is not None and payload["query"] == ME

    relaxed = PersistedQueries(settings)
    relaxed.attach(resources.extras["kv"])
    text = f"subscription S{unique('s').replace('-', '_')} {{ __typename }}"
    cases: list[tuple[Any, str | None]] = [
        (apq(sha256(text)), "PERSISTED_QUERY_NOT_FOUND"),
        (apq(sha256(text), text), None),
        (apq(sha256(text)), None),
        (apq(sha256(text), text + " "), "BAD_USER_INPUT"),
        ("not an object", "BAD_USER_INPUT"),
        ({"variables": {}}, "BAD_USER_INPUT"),
    ]
    for message, expected in cases:
        payload, error = await resolve_ws_payload(relaxed, ctx, message)
        if expected is None:
            assert error is None and payload is not None and payload["query"] == text
        else:
            assert error is not None and error["extensions"]["code"] == expected, message

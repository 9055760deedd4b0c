"""GraphiQL served by the API from its own pinned assets, tested in headless Chromium.

The browser part (clients/apollo-e2e/graphiql.test.mjs, playwright-core driving Debian's
chromium) loads the page from `python -m graphql_api serve`, checks every request stayed on
the API's origin with no CSP violation, fills the prefilled headers editor with a demo token,
runs a query and a subscription and reads their results from the page.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request

from graphql_api.settings import Settings
from graphql_api.static import CONTENT_SECURITY_POLICY, GraphiQLAssets
from tests.e2e.live_server import DemoServer, demo_server, run_node

__all__ = ["demo_server"]

HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _chromium() -> str:
    binary = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(binary).exists():
        raise RuntimeError("Debian's chromium is needed (scripts/test installs it)")
    return binary


@pytest.mark.slow
def test_graphiql_in_headless_chromium(demo_server: DemoServer) -> None:
    output = run_node(
        "--test",
        "--test-reporter=tap",
        "graphiql.test.mjs",
        env={
            "GRAPHQL_URL": demo_server.url,
            "OWNER_TOKEN": demo_server.tokens["OWNER"],
            "ORG_ID": demo_server.org_id,
            "CHROMIUM": _chromium(),
        },
    )
    for name in (
        "GraphiQL loads from the API's own assets under its CSP",
        "the headers editor is ready for a token",
        "a query runs and its result shows",
        "a subscription runs over WebSockets with the editor's token",
        "no CSP violation and no error on the page",
    ):
        assert re.search(rf"^ok \d+ - {re.escape(name)}$", output, re.M), output
    assert re.search(r"^# fail 0$", output, re.M), output


async def test_browser_get_serves_the_page_under_a_strict_csp(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", headers={"accept": HTML})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert csp == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in csp and "http" not in csp
    assert "<script>" not in response.text  # no inline script
    sources = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assets = [s for s in sources if s.startswith("/graphiql/assets/")]
    assert {Path(a).name for a in assets} >= {
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphiql.min.js",
        "graphiql.min.css",
        "graphql-ws.min.js",
        "graphiql-init.js",
    }
    assert all(s.startswith(("/", "data:")) for s in sources)
    assert 'data-endpoint="/graphql"' in response.text


async def test_assets_are_served_with_integrity_and_caching(http: httpx.AsyncClient) -> None:
    page = (await http.get("/graphql", headers={"accept": HTML})).text
    integrity = dict(
        re.findall(r'(?:src|href)="/graphiql/assets/([^"]+)" integrity="([^"]+)"', page)
    )
    response = await http.get("/graphiql/assets/graphiql-init.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
    assert integrity["graphiql-init.js"] == f"sha384-{digest}"
    again = await http.get(
        "/graphiql/assets/graphiql-init.js", headers={"if-none-match": response.headers["etag"]}
    )
    assert again.status_code == 304
    css = await http.get("/graphiql/assets/graphiql.min.css")
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    for missing in ("nope.js", "..%2Fpackage.json", "assets.json", "%2e%2e%2f__init__.py"):
        assert (await http.get(f"/graphiql/assets/{missing}")).status_code == 404, missing


def test_missing_assets_page_says_how_to_build_them(tmp_path: Path) -> None:
    assets = GraphiQLAssets(tmp_path)
    assert not assets.available
    request = Request({"type": "http", "method": "GET", "path": "/graphql", "headers": []})
    response = assets.page(request)
    assert response.status_code == 503
    body = bytes(response.body).decode()
    assert "npm ci" in body and "scripts/bootstrap" in body
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


async def test_introspection_and_graphiql_are_on_outside_production(
    http: httpx.AsyncClient,
) -> None:
    body = (
        await http.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
    ).json()
    assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    assert Settings(app_env="development").graphiql_enabled
    assert Settings(app_env="test").introspection_enabled
    configured = Settings(app_env="development", graphiql=False, introspection=False)
    assert not configured.graphiql_enabled and not configured.introspection_enabled

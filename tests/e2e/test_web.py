"""The reference web client (examples/web) in headless Chromium against `serve --web`.

The browser part (tests/e2e/web_e2e.mjs, playwright-core driving Debian's chromium) signs in
two demo people (the member the seeded run is assigned to, and a manager), opens that run in
both, and checks live updates within a second, presence, an offline period whose changes show
exactly once after reconnecting, a conflicting edit's notice, a photo uploaded to S3 (moto)
from the run page and seen live by the other person, refused uploads' messages, and that every
operation travels as an id of the build's persisted-query manifest: the server runs with
REQUIRE_SAFELIST=true and takes that manifest from the served build.

tests/e2e/web_oidc_e2e.mjs signs in through a fake OIDC provider (tests/e2e/fake_oidc.py) by
redirect, against a server that verifies the provider's RS256 tokens through its JWKS.
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from graphql_api.app import create_app
from graphql_api.settings import DEV_AUDIENCE, Settings
from tests.e2e.fake_oidc import FakeOidcProvider, Person
from tests.e2e.live_server import _NOT_EMBEDDED, NODE_PROJECT, ROOT, DemoServer, node, stop
from tests.support.moto_server import free_port

WEB_DIST = ROOT / "examples" / "web" / "dist"
WEB_MANIFEST = WEB_DIST / "persisted-query-manifest.json"
ARTIFACTS = ROOT / "test-artifacts"
STARTUP_TIMEOUT = 120.0


def _read(server: DemoServer) -> None:
    assert server.process.stdout is not None
    for line in server.process.stdout:
        server.output.append(line)


def serve_web(web_dir: Path, **settings: str) -> DemoServer:
    """`serve --web DIR` on the embedded default with these extra settings; its MEMBER and
    MANAGER demo tokens are read from what it prints."""
    if not (web_dir / "index.html").is_file() or not (web_dir / WEB_MANIFEST.name).is_file():
        raise RuntimeError("examples/web is not built: run scripts/bootstrap")
    env = {k: v for k, v in os.environ.items() if k.upper() not in _NOT_EMBEDDED}
    env.update(APP_ENV="development", PYTHONUNBUFFERED="1", **settings)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "graphql_api", "serve", "--port", str(port), "--web", str(web_dir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = DemoServer(port, process)
    threading.Thread(target=_read, args=(server,), daemon=True).start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        text = "".join(server.output)
        tokens = dict(re.findall(r"^\s+(MEMBER|MANAGER)\s+\S+\s+(\S+)$", text, re.M))
        if len(tokens) == 2 and f"Web app: open http://127.0.0.1:{port}/app/" in text:
            server.tokens = tokens
            return server
        time.sleep(0.1)
    stop(server)
    raise RuntimeError(f"the server did not start:\n{server.log()}")


@pytest.fixture(scope="module")
def web_server() -> Iterator[DemoServer]:
    """`serve --web` on the embedded default, as the README tells a user to run it, with only
    the app's operations allowed (its manifest, which --web uses when none is configured)."""
    server = serve_web(WEB_DIST, REQUIRE_SAFELIST="true")
    yield server
    stop(server)


def run_browser(script: str, **env: str) -> str:
    """Run a node:test browser script; returns its TAP output, or fails with it."""
    chromium = "/usr/bin/chromium"
    assert Path(chromium).exists(), "Debian's chromium is needed (scripts/test installs it)"
    result = subprocess.run(
        [node(), "--test", "--test-reporter=tap", str(ROOT / "tests" / "e2e" / script)],
        cwd=ROOT,
        env={
            **os.environ,
            "CHROMIUM": chromium,
            "PLAYWRIGHT_FROM": str(NODE_PROJECT / "package.json"),
            "ARTIFACTS": str(ARTIFACTS),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"^# fail 0$", output, re.M), output
    return output


def assert_passed(output: str, *names: str) -> None:
    for name in names:
        assert re.search(rf"^ok \d+ - {re.escape(name)}$", output, re.M), output


@pytest.mark.slow
def test_two_people_on_one_run_in_headless_chromium(web_server: DemoServer) -> None:
    try:
        output = run_browser(
            "web_e2e.mjs",
            APP_URL=f"http://127.0.0.1:{web_server.port}/app/",
            MEMBER_TOKEN=web_server.tokens["MEMBER"],
            MANAGER_TOKEN=web_server.tokens["MANAGER"],
            MANIFEST=str(WEB_MANIFEST),
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- server ---\n{web_server.log()}") from None
    assert_passed(
        output,
        "the member opens their assignment's run and the manager opens the same run",
        "presence shows both people on the run, and where they are",
        "a checked item shows on the other screen within a second",
        "offline, then back: every change shows exactly once",
        "a conflicting edit shows the notice and the other person's answer wins",
        "a photo uploaded from the run page is attached, and the other person sees it live",
        "a file of the wrong type or too large is refused with a clear message",
        "operations travel as ids of the build's manifest, and the pages raised no error",
    )
    for shot in (
        "web-run-after-reconnect.png",
        "web-run-conflict.png",
        "web-run-member.png",
        "web-run-photo.png",
        "web-run-upload-refused.png",
    ):
        assert (ARTIFACTS / shot).stat().st_size > 10_000, shot


@pytest.mark.slow
def test_sign_in_by_oidc_redirect_in_headless_chromium(tmp_path: Path) -> None:
    # The demo member, signed in at the provider: the seeded run is theirs.
    provider = FakeOidcProvider(
        client_id="checklists-web",
        audience=DEV_AUDIENCE,
        person=Person("demo-member", "member@demo.example", "Milo Member"),
        lifetimes=[65, 8],  # renewal after 5 s; the renewed token runs out 8 s later
        refreshes_allowed=1,
    )
    provider.start()
    # The same build, configured at run time by a config.json beside index.html.
    web_dir = tmp_path / "web"
    shutil.copytree(WEB_DIST, web_dir)
    oidc = {
        "authority": provider.issuer,
        "clientId": provider.client_id,
        "scope": "openid profile email offline_access",
        "providerName": "Test Identity",
    }
    (web_dir / "config.json").write_text(json.dumps({"oidc": oidc}))
    server = serve_web(
        web_dir,
        JWT_JWKS_URL=provider.jwks_url,
        JWT_ISSUER=provider.issuer,
        JWT_AUDIENCE=DEV_AUDIENCE,
        # Demo tokens are still minted for the seeded people (HS256 beside the JWKS).
        JWT_HS256_SECRET=secrets.token_hex(32),
    )
    try:
        output = run_browser(
            "web_oidc_e2e.mjs",
            APP_URL=f"http://127.0.0.1:{server.port}/app/",
            ISSUER=provider.issuer,
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- server ---\n{server.log()}") from None
    finally:
        stop(server)
        provider.stop()
    assert_passed(
        output,
        "the sign-in screen offers the provider, and the token paste for development",
        "signing in by redirect: code + PKCE, tokens in sessionStorage, `me` works",
        "the token is renewed silently and the next requests carry the new one",
        "a token that cannot be renewed ends the session when it runs out",
    )
    # What the provider saw: one authorize with PKCE S256, the code redeemed with its
    # verifier, one refresh that worked and one refused.
    (authorize,) = provider.authorize_requests
    assert authorize["code_challenge_method"] == "S256"
    assert authorize["redirect_uri"] == f"http://127.0.0.1:{server.port}/app/"
    grants = [r["grant_type"] for r in provider.token_requests]
    assert grants[0] == "authorization_code" and provider.token_requests[0]["code_verifier"]
    assert grants.count("refresh_token") >= 2, grants
    assert provider.refreshes_allowed == 0
    for shot in ("web-signin-oidc.png", "web-signed-in-oidc.png", "web-session-expired.png"):
        assert (ARTIFACTS / shot).stat().st_size > 5_000, shot


async def test_the_built_app_is_served_under_app_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>web</title>")
    settings = Settings(app_env="test")
    for web_dir, expected in ((tmp_path, 200), (None, 404)):
        app = create_app(settings, web_dir=web_dir)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            page = await http.get("/app/")
            assert page.status_code == expected
            if expected == 200:
                assert "<title>web</title>" in page.text
                moved = await http.get("/app")
                assert moved.status_code == 307
                assert moved.headers["location"].endswith("/app/")
                assert (await http.get("/app/../pyproject.toml")).status_code == 404

"""The reference web client (examples/web) in headless Chromium against `serve --web`.

The browser part (tests/e2e/web_e2e.mjs, playwright-core driving Debian's chromium) signs in
two demo people (the member the seeded run is assigned to, and a manager), opens that run in
both, and checks live updates within a second, presence, an offline period whose changes show
exactly once after reconnecting, a conflicting edit's notice, a photo uploaded to S3 (moto) from
the run page and seen live by the other person, refused uploads' messages, and that every
operation travels
as an id of the build's persisted-query manifest: the server runs with REQUIRE_SAFELIST=true
and takes that manifest from the served build. Screenshots of the run page go to
test-artifacts/.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from graphql_api.app import create_app
from graphql_api.settings import Settings
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


@pytest.fixture(scope="module")
def web_server() -> Iterator[DemoServer]:
    """`serve --web` on the embedded default, as the README tells a user to run it, with only
    the app's operations allowed (its manifest, which --web uses when none is configured)."""
    if not (WEB_DIST / "index.html").is_file() or not WEB_MANIFEST.is_file():
        raise RuntimeError("examples/web is not built: run scripts/bootstrap")
    env = {k: v for k, v in os.environ.items() if k.upper() not in _NOT_EMBEDDED}
    env.update(APP_ENV="development", PYTHONUNBUFFERED="1", REQUIRE_SAFELIST="true")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "graphql_api", "serve", "--port", str(port), "--web"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = DemoServer(port, process)
    threading.Thread(target=_read, args=(server,), daemon=True).start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        text = "".join(server.output)
        tokens = dict(re.findall(r"^\s+(MEMBER|MANAGER)\s+\S+\s+(\S+)$", text, re.M))
        if len(tokens) == 2 and f"Web app: open http://127.0.0.1:{port}/app/" in text:
            server.tokens = tokens
            break
        if process.poll() is not None:
            break
        time.sleep(0.1)
    else:
        stop(server)
        raise RuntimeError(f"the server did not start:\n{server.log()}")
    if not server.tokens:
        stop(server)
        raise RuntimeError(f"the server did not start:\n{server.log()}")
    yield server
    stop(server)


@pytest.mark.slow
def test_two_people_on_one_run_in_headless_chromium(web_server: DemoServer) -> None:
    chromium = "/usr/bin/chromium"
    assert Path(chromium).exists(), "Debian's chromium is needed (scripts/test installs it)"
    result = subprocess.run(
        [node(), "--test", "--test-reporter=tap", str(ROOT / "tests" / "e2e" / "web_e2e.mjs")],
        cwd=ROOT,
        env={
            **os.environ,
            "APP_URL": f"http://127.0.0.1:{web_server.port}/app/",
            "MEMBER_TOKEN": web_server.tokens["MEMBER"],
            "MANAGER_TOKEN": web_server.tokens["MANAGER"],
            "CHROMIUM": chromium,
            "PLAYWRIGHT_FROM": str(NODE_PROJECT / "package.json"),
            "ARTIFACTS": str(ARTIFACTS),
            "MANIFEST": str(WEB_MANIFEST),
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{output}\n--- server ---\n{web_server.log()}"
    for name in (
        "the member opens their assignment's run and the manager opens the same run",
        "presence shows both people on the run, and where they are",
        "a checked item shows on the other screen within a second",
        "offline, then back: every change shows exactly once",
        "a conflicting edit shows the notice and the other person's answer wins",
        "a photo uploaded from the run page is attached, and the other person sees it live",
        "a file of the wrong type or too large is refused with a clear message",
        "operations travel as ids of the build's manifest, and the pages raised no error",
    ):
        assert re.search(rf"^ok \d+ - {re.escape(name)}$", output, re.M), output
    assert re.search(r"^# fail 0$", output, re.M), output
    for shot in (
        "web-run-after-reconnect.png",
        "web-run-conflict.png",
        "web-run-member.png",
        "web-run-photo.png",
        "web-run-upload-refused.png",
    ):
        assert (ARTIFACTS / shot).stat().st_size > 10_000, shot


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

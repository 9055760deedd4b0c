"""The real command line, as a user runs it: `python -m graphql_api ...` in a subprocess."""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.moto_server import free_port

ROOT = Path(__file__).resolve().parent.parent
READY = re.compile(r"GraphQL API ready in (?P<seconds>[\d.]+)s: (?P<url>http://\S+)/graphql")
TOKEN = re.compile(
    r"^\s+(?P<role>OWNER|ADMIN|MANAGER|MEMBER|VIEWER)\s+(?P<email>\S+)\s+(?P<token>\S+)$"
)
ORG_ID = re.compile(r"^Demo organization id: (?P<id>\S+)$")
START_TIMEOUT = 60.0


def clean_env(**extra: str) -> dict[str, str]:
    """No AWS, Redis or JWT configuration from the developer's (or the tests') environment."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


class CliRun:
    """`python -m graphql_api ...` started at once; `result()` waits for it (once)."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "graphql_api", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._result: subprocess.CompletedProcess[str] | None = None

    def result(self) -> subprocess.CompletedProcess[str]:
        if self._result is None:
            out, err = self.proc.communicate(timeout=120)
            self._result = subprocess.CompletedProcess(
                self.proc.args, self.proc.returncode, out, err
            )
        return self._result


@dataclass
class Served:
    """A running `serve` and what it printed."""

    proc: subprocess.Popen[str]
    url: str
    seconds: float
    org_id: str
    tokens: dict[str, tuple[str, str]]  # role -> (email, token)
    output: list[str] = field(default_factory=list)


def read_until_ready(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> Served:
    output: list[str] = []
    ready = None
    org_id = ""
    tokens: dict[str, tuple[str, str]] = {}
    deadline = time.monotonic() + START_TIMEOUT
    while len(tokens) < 5:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            raise AssertionError("serve printed no tokens in time:\n" + "\n".join(output)) from None
        if line is None:
            raise AssertionError(f"serve exited ({proc.poll()}):\n" + "\n".join(output))
        output.append(line)
        if m := READY.search(line):
            ready = m
        elif m := ORG_ID.match(line):
            org_id = m["id"]
        elif ready and (m := TOKEN.match(line)):
            tokens[m["role"]] = (m["email"], m["token"])
    assert ready is not None
    return Served(proc, ready["url"], float(ready["seconds"]), org_id, tokens, output)


PRODUCTION = {
    "APP_ENV": "production",
    "DYNAMODB_TABLE": "checklists-prod",
    "S3_BUCKET": "checklists-prod-files",
    "REDIS_URL": "redis://cache.internal.acme-ops.io:6379/0",
    "JWT_JWKS_URL": "https://auth.acme-ops.io/.well-known/jwks.json",
    "JWT_ISSUER": "https://auth.acme-ops.io/",
    "JWT_AUDIENCE": "checklists-api",
    "CURSOR_SECRET": "q8W3v0LrT5nX2kP9zB7mC4dF6hJ1sA0e",
}
MINT = ("mint-token", "--sub", "dev-1", "--email", "dev@example.test")


@pytest.fixture(scope="module")
def cli() -> Iterator[dict[str, CliRun]]:
    """Every one-shot command of this module, started in parallel (imports take seconds)."""
    runs = {
        "mint-production": CliRun(*MINT, env=clean_env(**PRODUCTION)),
        "mint-unconfigured-production": CliRun(*MINT, env=clean_env(APP_ENV="production")),
        "mint-development": CliRun(*MINT, env=clean_env()),
        "export-schema": CliRun("export-schema", env=clean_env()),
    }
    yield runs
    for run in runs.values():
        if run.proc.poll() is None:
            run.proc.kill()
        run.result()


@pytest.fixture(scope="module")
def served(cli: dict[str, CliRun]) -> Iterator[Served]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "graphql_api", "serve", "--port", str(port)],
        cwd=ROOT,
        env=clean_env(APP_ENV="development"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        server = read_until_ready(proc, lines)
        print(f"embedded serve: ready in {server.seconds:.2f}s (as printed)")
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def test_serve_prints_a_working_token_per_demo_user(served: Served) -> None:
    assert set(served.tokens) == {"OWNER", "ADMIN", "MANAGER", "MEMBER", "VIEWER"}
    query = "{ me { email memberships { role organization { id name } } } }"
    # No retry: "ready" must mean the socket already accepts connections.
    with httpx.Client(base_url=served.url, timeout=10) as http:
        for role, (email, token) in served.tokens.items():
            response = http.post(
                "/graphql",
                json={"query": query},
                headers={"authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200, response.text
            me = response.json()["data"]["me"]
            assert me["email"] == email
            (membership,) = me["memberships"]
            assert membership["role"] == role
            assert membership["organization"]["id"] == served.org_id


def test_serve_says_data_lives_in_memory(served: Served) -> None:
    text = "\n".join(served.output)
    assert "EMBEDDED MODE" in text
    assert "in memory" in text
    assert "lost on exit" in text


def test_serve_health_and_limits_over_the_wire(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as http:
        assert http.get("/healthz").status_code == 200
        ready = http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"]["dynamodb"] == "ok"

        def chunks() -> Iterator[bytes]:
            yield b'{"query": "{ __typename }", "pad": "'
            for _ in range(20):
                yield b" " * 100_000
            yield b'"}'

        response = http.post(
            "/graphql", content=chunks(), headers={"content-type": "application/json"}
        )
        assert "content-length" not in response.request.headers
        assert response.status_code == 413


def test_serve_stops_on_sigterm(served: Served) -> None:
    served.proc.terminate()
    code = served.proc.wait(timeout=20)
    # uvicorn shuts down gracefully, then re-raises the signal it captured.
    assert code in (0, -signal.SIGTERM)


# other commands ------------------------------------------------------------------------------
def test_mint_token_is_refused_in_production(cli: dict[str, CliRun]) -> None:
    result = cli["mint-production"].result()
    assert result.returncode != 0
    assert "development and test only" in result.stderr
    assert result.stdout == ""


def test_production_without_configuration_names_the_variable(cli: dict[str, CliRun]) -> None:
    result = cli["mint-unconfigured-production"].result()
    assert result.returncode != 0
    assert "configuration error" in result.stderr
    assert "DYNAMODB_TABLE" in result.stderr


def test_mint_token_in_development(cli: dict[str, CliRun]) -> None:
    result = cli["mint-development"].result()
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    _header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert (claims["sub"], claims["email"]) == ("dev-1", "dev@example.test")
    assert claims["exp"] > time.time()
    assert signature


def test_export_schema_equals_the_committed_file(cli: dict[str, CliRun]) -> None:
    result = cli["export-schema"].result()
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "schema.graphql").read_text()

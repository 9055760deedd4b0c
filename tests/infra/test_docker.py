"""Static checks of docker/ (no Docker engine runs here) and a real run of the entrypoint."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import yaml

from graphql_api.settings import AppEnv, Settings

DOCKER = Path(__file__).resolve().parents[2] / "docker"
CONTRACT_ENV = {
    "APP_ENV",
    "DYNAMODB_TABLE",
    "S3_BUCKET",
    "AWS_REGION",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_S3",
    "REDIS_URL",
    "JWT_HS256_SECRET",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
    "CORS_ORIGINS",
}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (DOCKER / "Dockerfile").read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return data


# --- Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_on_python_311_slim() -> None:
    instructions = dockerfile_instructions()
    stages = [args for word, args in instructions if word == "FROM"]
    assert len(stages) >= 2
    assert ("ARG", "PYTHON_IMAGE=python:3.11-slim") in instructions
    assert all(s.startswith("${PYTHON_IMAGE}") for s in stages)
    assert any(word == "COPY" and args.startswith("--from=build") for word, args in instructions)


def test_dockerfile_installs_exactly_the_lock_file() -> None:
    runs = " ".join(args for word, args in dockerfile_instructions() if word == "RUN")
    copies = [args for word, args in dockerfile_instructions() if word == "COPY"]
    assert any("uv.lock" in c for c in copies)
    assert re.search(r"uv sync (?=.*--locked)(?=.*--no-dev)", runs)
    # Only runtime dependencies: no extras (dev tools, the CDK) in the image.
    assert "--extra" not in runs and "--all-extras" not in runs


def test_runtime_stage_runs_as_a_non_root_user_with_a_health_check() -> None:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    runtime = instructions[last_from:]
    users = [args for word, args in runtime if word == "USER"]
    assert users, "the runtime stage must switch to a non-root USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    (health,) = [args for word, args in runtime if word == "HEALTHCHECK"]
    assert "/healthz" in health
    assert ("STOPSIGNAL", "SIGTERM") in runtime
    (cmd,) = [args for word, args in runtime if word == "CMD"]
    assert cmd == '["serve", "--host", "0.0.0.0", "--port", "8000"]'
    (entrypoint,) = [args for word, args in runtime if word == "ENTRYPOINT"]
    assert "entrypoint.sh" in entrypoint


def test_build_context_keeps_only_what_the_image_needs() -> None:
    ignore = (DOCKER / "Dockerfile.dockerignore").read_text().splitlines()
    assert "**" in ignore
    for needed in ("pyproject.toml", "uv.lock", "graphql_api", "docker/entrypoint.sh"):
        assert f"!{needed}" in ignore


# --- entrypoint ----------------------------------------------------------------------------


def run_entrypoint(tmp_path: Path, env: dict[str, str], *args: str) -> str:
    """Runs docker/entrypoint.sh with a stand-in `python` that reports what it was given."""
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho "url=$REDIS_URL token=${REDIS_AUTH_TOKEN:-unset} args=$*"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    result = subprocess.run(
        ["sh", str(DOCKER / "entrypoint.sh"), *args],
        env={"PATH": f"{tmp_path}:{os.environ['PATH']}", **env},
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return result.stdout.strip()


def test_entrypoint_is_executable() -> None:
    assert (DOCKER / "entrypoint.sh").stat().st_mode & stat.S_IXUSR


def test_entrypoint_puts_the_redis_token_into_the_url_and_drops_it(tmp_path: Path) -> None:
    out = run_entrypoint(
        tmp_path,
        {"REDIS_URL": "rediss://primary.cache.local:6379/0", "REDIS_AUTH_TOKEN": "Tok3n"},
        "serve",
        "--host",
        "0.0.0.0",
    )
    assert out == (
        "url=rediss://:Tok3n@primary.cache.local:6379/0 token=unset "
        "args=-m graphql_api serve --host 0.0.0.0"
    )


def test_entrypoint_leaves_urls_with_credentials_or_no_token_alone(tmp_path: Path) -> None:
    with_credentials = run_entrypoint(
        tmp_path, {"REDIS_URL": "rediss://:old@h:6379/0", "REDIS_AUTH_TOKEN": "new"}, "serve"
    )
    assert with_credentials.startswith("url=rediss://:old@h:6379/0 token=unset")
    plain = run_entrypoint(tmp_path, {"REDIS_URL": "redis://redis:6379/0"}, "create-tables")
    assert plain == "url=redis://redis:6379/0 token=unset args=-m graphql_api create-tables"


# --- compose -------------------------------------------------------------------------------


def test_compose_has_two_api_replicas_redis_moto_and_a_table_job() -> None:
    services = compose()["services"]
    assert {"moto", "redis", "create-tables", "api-1", "api-2"} <= set(services)
    apis = [name for name in services if name.startswith("api-")]
    assert len(apis) == 2
    ports = {services[name]["ports"][0].split(":")[0] for name in apis}
    assert len(ports) == 2, "each replica needs its own host port"
    job = services["create-tables"]
    assert job["command"] == ["create-tables", "--bucket"]
    assert job["depends_on"]["moto"]["condition"] == "service_healthy"
    for name in apis:
        depends = services[name]["depends_on"]
        assert depends["create-tables"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
    assert "healthcheck" in services["moto"] and "healthcheck" in services["redis"]


def test_compose_builds_the_image_from_the_repository_root() -> None:
    services = compose()["services"]
    build = services["api-1"]["build"]
    context = (DOCKER / build["context"]).resolve()
    assert (context / build["dockerfile"]).resolve() == (DOCKER / "Dockerfile").resolve()
    assert (context / "uv.lock").exists()


def test_compose_environment_is_the_contract_and_valid_for_the_app() -> None:
    services = compose()["services"]
    env_1, env_2 = services["api-1"]["environment"], services["api-2"]["environment"]
    assert env_1 == env_2, "replicas must share secrets and storage"
    assert CONTRACT_ENV <= set(env_1)
    assert env_1 == services["create-tables"]["environment"]
    # The app's own validation accepts it (HS256 is development only).
    settings = Settings(**{k.lower(): v for k, v in env_1.items()})
    assert settings.app_env is AppEnv.DEVELOPMENT
    assert not settings.embedded
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.aws_endpoint_url_dynamodb == "http://moto:5000"

"""Processes the benchmarks share: a moto server with the table, app servers, percentiles."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from graphql_api.settings import Settings
from tests.conftest import create_storage
from tests.support.moto_server import MotoServer, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def aws_env(moto: MotoServer, table: str) -> dict[str, str]:
    return {
        "APP_ENV": "test",
        "DYNAMODB_TABLE": table,
        "S3_BUCKET": table,
        "AWS_ENDPOINT_URL_DYNAMODB": moto.endpoint,
        "AWS_ENDPOINT_URL_S3": moto.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LOG_LEVEL": "WARNING",
    }


async def new_table(moto: MotoServer) -> str:
    table = f"bench-{uuid.uuid4().hex[:8]}"
    await create_storage(
        Settings(
            app_env="test",
            dynamodb_table=table,
            s3_bucket=table,
            aws_endpoint_url_dynamodb=moto.endpoint,
            aws_endpoint_url_s3=moto.endpoint,
        )
    )
    return table


class UvicornServer:
    """`uvicorn --factory <target>` in a subprocess on a free port."""

    def __init__(self, target: str, env: dict[str, str]) -> None:
        self.port = free_port()
        self.target = target
        self.env = {**os.environ, **env}
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> UvicornServer:
        self.proc = subprocess.Popen(  # noqa: ASYNC220 - started once, not on a hot path
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                self.target,
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--ws-per-message-deflate",
                "false",
            ],
            cwd=ROOT,
            env=self.env,
        )
        await asyncio.to_thread(wait_for_port, self.port, 60)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(15)
            self.proc = None

"""graphql_overhead_ratio: `query { __typename }` through the whole stack vs a raw endpoint.

Both endpoints live in the same uvicorn process (tests/perf/overhead_app.py) and are driven
by the same client, alternating, so machine noise hits both sides of the ratio alike.
"""

from __future__ import annotations

import json
from typing import Any

from tests.perf.harness import UvicornServer, aws_env, median, new_table
from tests.perf.loadgen import build_request, measure_rps
from tests.support.moto_server import MotoServer

QUERY = json.dumps({"query": "query { __typename }"}).encode()


async def run(moto: MotoServer, quick: bool) -> dict[str, Any]:
    table = await new_table(moto)
    server = await UvicornServer(
        "tests.perf.overhead_app:app_factory", aws_env(moto, table)
    ).start()
    seconds, rounds = (3.0, 3) if quick else (8.0, 5)
    raw_rps: list[float] = []
    gql_rps: list[float] = []
    try:
        graphql = build_request("/graphql", QUERY)
        raw = build_request("/raw", QUERY)
        await measure_rps("127.0.0.1", server.port, graphql, 1.0)  # warm caches
        for _ in range(rounds):
            raw_rps.append(await measure_rps("127.0.0.1", server.port, raw, seconds))
            gql_rps.append(await measure_rps("127.0.0.1", server.port, graphql, seconds))
    finally:
        server.stop()
    ratios = [g / r for g, r in zip(gql_rps, raw_rps, strict=True)]
    return {
        "graphql_overhead_ratio": round(median(ratios), 3),
        "graphql_rps": round(median(gql_rps)),
        "raw_rps": round(median(raw_rps)),
    }

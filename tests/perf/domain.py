"""Domain benchmarks in one process, on a table of their own:

- dashboard: DynamoDB calls of the dashboard query with 5 and 50 assignments, and its latency
  against one GetItem on the same moto server (`dashboard_latency_ratio`);
- setItemState through the API against one TransactWriteItems of the same items.
"""

from __future__ import annotations

import time
from typing import Any

from graphql_api.common.ids import from_global_id, new_id
from graphql_api.common.time import now_iso
from graphql_api.metrics import dynamodb_call_count
from graphql_api.store import keys, transact
from tests.perf.harness import median, percentile
from tests.support.domain_factories import create_workspace, seed_started_assignments
from tests.support.isolated import IsolatedApp, isolated_app
from tests.support.moto_server import MotoServer
from tests.test_dashboard import DASHBOARD


async def _timed(samples: list[float], coro: Any) -> Any:
    start = time.perf_counter()
    result = await coro
    samples.append((time.perf_counter() - start) * 1000)
    return result


async def dashboard(app: IsolatedApp, quick: bool) -> dict[str, Any]:
    small = await create_workspace(app.client_for)
    large = await create_workspace(app.client_for)
    await seed_started_assignments(app.resources, small, 5)
    await seed_started_assignments(app.resources, large, 50)
    out: dict[str, Any] = {}
    for name, ws in (("5", small), ("50", large)):
        client = ws.client("MANAGER")
        await client.data(DASHBOARD, {"id": ws.org_id})  # warm the document cache
        before = dynamodb_call_count()
        await client.data(DASHBOARD, {"id": ws.org_id})
        out[f"dashboard_dynamodb_calls_{name}"] = dynamodb_call_count() - before

    rounds = 20 if quick else 60
    store = app.resources.store
    org_key = keys.org(large.local_org)
    get_ms: list[float] = []
    dash_ms: list[float] = []
    client = large.client("MANAGER")
    for _ in range(rounds):
        await _timed(get_ms, store.get(org_key))
        await _timed(dash_ms, client.data(DASHBOARD, {"id": large.org_id}))
    get_p50 = median(get_ms)
    out["dashboard_p50_ms"] = round(median(dash_ms), 2)
    out["dashboard_p99_ms"] = round(percentile(dash_ms, 99), 2)
    out["getitem_p50_ms"] = round(get_p50, 3)
    out["dashboard_latency_ratio"] = round(median(dash_ms) / get_p50, 2)
    out["dashboard_latency_ratio_p99"] = round(percentile(dash_ms, 99) / get_p50, 2)
    return out


async def set_item_state(app: IsolatedApp, quick: bool) -> dict[str, Any]:
    ws = await create_workspace(app.client_for)
    assignment = await ws.assign()
    run = await ws.start(assignment["id"])
    run_id = run["id"]
    org = ws.local_org
    rid = from_global_id(run_id).id
    store = app.resources.store
    rounds = 30 if quick else 100
    api_ms: list[float] = []
    raw_ms: list[float] = []
    for i in range(rounds):
        await _timed(api_ms, ws.set_item(run_id, "t1", value=f"v{i}"))
        # The same items the mutation writes: item state, run head, run event, audit entry.
        at = now_iso()
        version = 10_000 + i
        ops = [
            transact.put({**keys.run_item(org, rid, "bench"), "entity": "RunItem", "value": i}),
            transact.update(keys.run_key(org, rid), "SET benchVersion = :v", values={":v": i}),
            transact.put_new({**keys.run_event(org, rid, version), "entity": "Bench", "at": at}),
            transact.put(
                {**keys.audit_entry(org, at, new_id(), rid, "bench"), "entity": "Bench", "at": at}
            ),
        ]
        await _timed(raw_ms, store.transact(ops))
    return {
        "set_item_state_p50_ms": round(median(api_ms), 2),
        "transact_write_p50_ms": round(median(raw_ms), 2),
        "set_item_state_ratio": round(median(api_ms) / median(raw_ms), 2),
    }


async def run(moto: MotoServer, quick: bool) -> dict[str, Any]:
    results: dict[str, Any] = {}
    async with isolated_app(moto) as app:
        results.update(await dashboard(app, quick))
    async with isolated_app(moto) as app:
        results.update(await set_item_state(app, quick))
    return results

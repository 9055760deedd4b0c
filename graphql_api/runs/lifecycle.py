"""Submitting and reopening runs: the run and its assignment move together, in one
transaction with the run event and the audit entry (version protocol: see runs.service)."""

from __future__ import annotations

from typing import Any

from graphql_api.assignments import service as assignments
from graphql_api.assignments import transitions
from graphql_api.audit.service import entry_op
from graphql_api.common.ids import to_global_id
from graphql_api.common.time import now_iso
from graphql_api.context import Context
from graphql_api.errors import bad_input
from graphql_api.notifications import fanout
from graphql_api.notifications import service as notifications
from graphql_api.runs import repository as repo
from graphql_api.runs.service import (
    IN_PROGRESS,
    MAX_ATTEMPTS,
    REOPENED,
    SUBMITTED,
    SUBMITTED_EVENT,
    Retry,
    busy,
    pause,
    publish,
    require_run_consistent,
    run_for_work,
    snapshot_of,
)
from graphql_api.store import keys, transact
from graphql_api.store.codec import Item
from graphql_api.store.errors import ConditionFailed, RetryableStoreError


def missing_items(snapshot: Item, states: list[Item]) -> list[str]:
    done = {s["itemId"] for s in states if s.get("done")}
    return [
        i["id"]
        for i in snapshot.get("items", [])
        if i.get("required", True) and i["id"] not in done
    ]


async def _transition(
    ctx: Context,
    run: Item,
    new_status: str,
    event_type: str,
    assignment_status: tuple[str, str],
    note: str,
    extra_set: dict[str, Any],
) -> Item:
    """Moves the run and its assignment together; conditioned on the run version read, so
    any change in between (an item answered) makes us re-validate instead of committing."""
    org_id, rid, aid = run["orgId"], run["id"], run["assignmentId"]
    at, actor = now_iso(), ctx.user_id
    version = run["version"] + 1
    changes = {"status": new_status, "updatedAt": at, **extra_set}
    sets = ", ".join(f"#{k} = :{k}" for k in changes)
    meta_op = transact.update(
        keys.run_key(org_id, rid),
        f"SET {sets}, #version = :nv",
        names={**{f"#{k}": k for k in changes}, "#version": "version"},
        values={**{f":{k}": v for k, v in changes.items()}, ":nv": version, ":v": run["version"]},
        condition="#version = :v",
    )
    event = repo.event_item(
        org_id,
        rid,
        version,
        event_type,
        actor,
        at,
        before={"status": run["status"]},
        after={"status": new_status},
    )
    target, source = assignment_status
    ops = [
        meta_op,
        transact.put_new(event),
        transitions.status_op(org_id, aid, target, source, actor, at, note),
        entry_op(ctx, org_id, f"run.{event_type.lower()}", "Run", rid, {"note": note}),
    ]
    notes = await _notes(ctx, run, event_type, note, len(ops))
    try:
        # Notifications go last so the indexes checked below stay those of `ops`.
        await ctx.store.transact([*ops, *notes.ops()])
    except ConditionFailed as exc:
        failed = exc.failed_index()
        if failed in (0, 1):
            raise Retry() from exc
        if failed == 2:
            raise bad_input("The assignment changed meanwhile (cancelled?)") from exc
        raise
    except RetryableStoreError as exc:
        raise Retry() from exc
    ctx.forget(keys.run_key(org_id, rid))
    await publish(ctx, event)
    await transitions.after_status_change(ctx, org_id, aid, event_type)
    await notes.committed(ctx)
    return {**run, **changes, "version": version}


async def _notes(ctx: Context, run: Item, event_type: str, note: str, used: int) -> fanout.Batch:
    """RUN_SUBMITTED / RUN_REOPENED for the assignment's assignees and team (not the actor)."""
    org_id = run["orgId"]
    assignment = await ctx.load(keys.assignment_key(org_id, run["assignmentId"])) or {}
    people = await fanout.recipients(
        ctx, org_id, assignment.get("assigneeIds", []), [assignment.get("teamId")]
    )
    submitted = event_type == SUBMITTED_EVENT
    kind = notifications.RUN_SUBMITTED if submitted else notifications.RUN_REOPENED
    title = "A run of your assignment was " + ("submitted" if submitted else "reopened")
    entity = to_global_id("Run", org_id, run["id"])
    return fanout.split(used, fanout.build_for(org_id, people, kind, title, note, entity))


async def submit_run(ctx: Context, org_id: str, rid: str) -> Item:
    """Submit when every required item is done; else BAD_USER_INPUT with `missingItems`."""
    run, _ = await run_for_work(ctx, org_id, rid)
    snapshot = await snapshot_of(ctx, run)
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            await pause(attempt)
            run = await require_run_consistent(ctx, org_id, rid)
        if run["status"] == SUBMITTED:
            raise bad_input("The run is already submitted")
        missing = missing_items(snapshot, await repo.states_consistent(ctx, org_id, rid))
        if missing:
            raise bad_input("Required items are not done", missingItems=missing)
        try:
            return await _transition(
                ctx,
                run,
                SUBMITTED,
                SUBMITTED_EVENT,
                (assignments.COMPLETED, assignments.IN_PROGRESS),
                "Run submitted",
                {"submittedAt": now_iso(), "submittedBy": ctx.user_id},
            )
        except Retry:
            continue
    raise busy(run)


async def reopen_run(ctx: Context, org_id: str, rid: str, note: str | None) -> Item:
    """Back to IN_PROGRESS after a submit (MANAGER+, checked by the schema)."""
    run = await require_run_consistent(ctx, org_id, rid)
    text = (note or "").strip()[: assignments.MAX_HISTORY_NOTE] or "Run reopened"
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            await pause(attempt)
            run = await require_run_consistent(ctx, org_id, rid)
        if run["status"] != SUBMITTED:
            raise bad_input("Only a submitted run can be reopened")
        try:
            return await _transition(
                ctx,
                run,
                IN_PROGRESS,
                REOPENED,
                (assignments.IN_PROGRESS, assignments.COMPLETED),
                text,
                {"reopenedAt": now_iso(), "reopenedBy": ctx.user_id},
            )
        except Retry:
            continue
    raise busy(run)

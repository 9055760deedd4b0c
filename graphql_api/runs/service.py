"""Business rules of runs: starting, answering items, submitting, reopening.

Versions. The run META holds `version`; every change of a run is one TransactWriteItems that
(1) changes what it changes, (2) moves META from the version read (consistently, just
before) to that version + 1, on the condition `#version = :read`, and (3) puts the run event
of the new version with `attribute_not_exists(pk)`. If another change committed in between,
(2) and (3) fail, the whole transaction is cancelled (nothing was written), and we read again
and retry, at most MAX_ATTEMPTS times. (2) alone keeps versions and events in step; (3)
makes a lost event slot impossible even if a read were stale. So a writer never needs the
client to resend: answers to different items never surface as conflicts.

This retry is not a blind retry of a conflicting edit: each item's answer has its own
version, and the item write is conditioned on it. With an `expectedVersion` a changed item
is CONFLICT (with the item's current state); without one the retry re-reads the item, so the
event's before/after and the done counters stay exact.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

from graphql_api.assignments import service as assignments
from graphql_api.assignments import transitions
from graphql_api.audit.service import entry_op
from graphql_api.checklists import service as checklists
from graphql_api.common.ids import new_id
from graphql_api.common.time import now_iso
from graphql_api.context import Context
from graphql_api.errors import AppError, bad_input, conflict, not_found
from graphql_api.realtime import channels
from graphql_api.runs import repository as repo
from graphql_api.runs import values
from graphql_api.store import keys, transact
from graphql_api.store.codec import Item
from graphql_api.store.errors import ConditionFailed, RetryableStoreError

IN_PROGRESS, SUBMITTED = "IN_PROGRESS", "SUBMITTED"
STARTED, ITEM_SET, SUBMITTED_EVENT, REOPENED, COMMENT_ADDED = (
    "STARTED",
    "ITEM_SET",
    "SUBMITTED",
    "REOPENED",
    "COMMENT_ADDED",
)
MAX_ATTEMPTS = 5


class Retry(Exception):
    """Internal: another change took the version; read again and retry."""


async def pause(attempt: int) -> None:
    # Jitter, so writers that collided do not collide again in lockstep.
    await asyncio.sleep(random.uniform(0, 0.01 * (attempt + 1)))


def busy(run: Item) -> AppError:
    return conflict("The run is changing fast; retry", currentVersion=run["version"])


async def publish(ctx: Context, event: Item) -> None:
    """After the commit only (DynamoDB is the source of truth; publish never raises)."""
    channel = channels.run(event["orgId"], event["runId"])
    await ctx.hub.publish(channel, json.dumps(repo.public(event)))


# reads and access ------------------------------------------------------------------
async def require_run(ctx: Context, org_id: str, rid: str) -> Item:
    item = await repo.get(ctx, org_id, rid)
    if item is None:
        raise not_found("Run")
    return item


async def require_run_consistent(ctx: Context, org_id: str, rid: str) -> Item:
    item = await repo.get_consistent(ctx, org_id, rid)
    if item is None:
        raise not_found("Run")
    return item


async def run_for_work(ctx: Context, org_id: str, rid: str) -> tuple[Item, Item]:
    """The run (consistent) and its assignment, once the caller may work on it."""
    run = await require_run_consistent(ctx, org_id, rid)
    assignment = await assignments.require_assignment(ctx, org_id, run["assignmentId"])
    await assignments.check_can_work(ctx, org_id, assignment)
    if assignment["status"] == assignments.CANCELLED:
        raise bad_input("The assignment was cancelled")
    return run, assignment


async def snapshot_of(ctx: Context, run: Item) -> Item:
    return await checklists.get_published(
        ctx, run["orgId"], run["checklistId"], run["checklistVersion"]
    )


def definition_of(snapshot: Item, item_id: str) -> dict[str, Any]:
    for item in snapshot.get("items", []):
        if item["id"] == item_id:
            return dict(item)
    raise not_found("Checklist item")


async def list_events(ctx: Context, org_id: str, run_id: str, after_version: int) -> list[Item]:
    """Every event of a run above `after_version`, oldest first (replay for runUpdated)."""
    return await ctx.store.query_all(
        keys.run_pk(org_id, run_id),
        sk_between=(
            keys.run_event_sk(after_version + 1),
            keys.run_event_sk(repo.LAST_EVENT_VERSION),
        ),
        consistent=True,
    )


# startRun ----------------------------------------------------------------------------
def new_run(assignment: Item, snapshot: Item, actor: str, at: str) -> tuple[Item, Item]:
    """A new run META (version 1) and its STARTED event (not yet stored)."""
    org_id, aid, rid = assignment["orgId"], assignment["id"], new_id()
    items = snapshot.get("items", [])
    run: Item = {
        **keys.run(org_id, rid, at),
        "entity": "Run",
        "id": rid,
        "orgId": org_id,
        "assignmentId": aid,
        "checklistId": assignment["checklistId"],
        "checklistVersion": assignment["checklistVersion"],
        "status": IN_PROGRESS,
        "version": 1,
        "doneCount": 0,
        "totalCount": len(items),
        "requiredCount": sum(1 for i in items if i.get("required", True)),
        "requiredDoneCount": 0,
        "startedBy": actor,
        "startedAt": at,
        "updatedAt": at,
    }
    event = repo.event_item(org_id, rid, 1, STARTED, actor, at, after={"assignmentId": aid})
    return run, event


async def start_run(ctx: Context, org_id: str, aid: str) -> Item:
    """The assignment's run, started now or earlier (one run per assignment)."""
    assignment = await assignments.require_assignment_consistent(ctx, org_id, aid)
    await assignments.check_can_work(ctx, org_id, assignment)
    if assignment.get("activeRunId"):
        return await require_run_consistent(ctx, org_id, assignment["activeRunId"])
    if assignment["status"] != assignments.ASSIGNED:
        raise bad_input(f"A {assignment['status'].lower()} assignment cannot be started")
    snapshot = await checklists.get_published(
        ctx, org_id, assignment["checklistId"], assignment["checklistVersion"]
    )
    at, actor = now_iso(), ctx.user_id
    run, event = new_run(assignment, snapshot, actor, at)
    rid = run["id"]
    ops = [
        transitions.run_started_op(org_id, aid, rid, actor, at),
        transact.put_new(run),
        transact.put_new(event),
        entry_op(ctx, org_id, "run.started", "Run", rid, {"assignmentId": aid}),
    ]
    try:
        await ctx.store.transact(ops)
    except ConditionFailed as exc:
        if exc.failed_index() != 0:
            raise
        # Someone started it first (or it was cancelled): answer with the state that won.
        current = await assignments.require_assignment_consistent(ctx, org_id, aid)
        if current.get("activeRunId"):
            return await require_run_consistent(ctx, org_id, current["activeRunId"])
        raise bad_input(f"A {current['status'].lower()} assignment cannot be started") from exc
    await publish(ctx, event)
    await transitions.after_status_change(ctx, org_id, aid, "STARTED")
    return run


# setItemState -----------------------------------------------------------------------
def _state_view(state: Item | None) -> dict[str, Any]:
    """{done, value, version}; no `value` when there is none, as DynamoDB stores it, so a
    live event and its replay from DynamoDB are the same JSON."""
    if state is None:
        return {"done": False, "version": 0}
    view = {"done": bool(state.get("done")), "version": state["version"]}
    if state.get("value") is not None:
        view["value"] = state["value"]
    return view


def _item_conflict(item_id: str, state: Item | None) -> AppError:
    current = {
        "itemId": item_id,
        **_state_view(state),
        "value": state.get("value") if state else None,
        "updatedBy": state.get("updatedBy") if state else None,
        "updatedAt": state.get("updatedAt") if state else None,
    }
    return conflict(
        "The item changed meanwhile", currentVersion=current["version"], current=current
    )


async def set_item_state(
    ctx: Context,
    org_id: str,
    rid: str,
    item_id: str,
    done: bool | None,
    value: Any,
    expected_version: int | None,
) -> tuple[Item, Item]:
    """Answer one item; returns (the item's new state, the run after the change)."""
    run, _ = await run_for_work(ctx, org_id, rid)
    definition = definition_of(await snapshot_of(ctx, run), item_id)
    done, value = values.validate(definition, done, value)
    required = bool(definition.get("required", True))
    actor = ctx.user_id
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            await pause(attempt)
            run = await require_run_consistent(ctx, org_id, rid)
        if run["status"] != IN_PROGRESS:
            raise bad_input("The run is submitted; reopen it to change items")
        state = await repo.state_consistent(ctx, org_id, rid, item_id)
        before = _state_view(state)
        if expected_version is not None and expected_version != before["version"]:
            raise _item_conflict(item_id, state)
        try:
            return await _commit_item(ctx, run, item_id, required, before, done, value, actor)
        except Retry:
            continue
        except _ItemChanged as exc:
            if expected_version is not None:
                fresh = await repo.state_consistent(ctx, org_id, rid, item_id)
                raise _item_conflict(item_id, fresh) from exc
            # No expectation given: the last write wins, computed against the fresh state.
            continue
    raise busy(run)


class _ItemChanged(Exception):
    """Internal: the item's version moved between our read and the commit."""


async def _commit_item(
    ctx: Context,
    run: Item,
    item_id: str,
    required: bool,
    before: dict[str, Any],
    done: bool,
    value: Any,
    actor: str,
) -> tuple[Item, Item]:
    org_id, rid = run["orgId"], run["id"]
    at = now_iso()
    state: Item = {
        **keys.run_item(org_id, rid, item_id),
        "entity": "RunItemState",
        "orgId": org_id,
        "runId": rid,
        "itemId": item_id,
        "done": done,
        "value": value,
        "version": before["version"] + 1,
        "updatedBy": actor,
        "updatedAt": at,
    }
    if before["version"] == 0:
        item_op = transact.put(state, "attribute_not_exists(pk)")
    else:
        item_op = transact.put(
            state, "#v = :v", names={"#v": "version"}, values={":v": before["version"]}
        )
    done_delta = int(done) - int(before["done"])
    required_delta = done_delta if required else 0
    meta_op = transact.update(
        keys.run_key(org_id, rid),
        "ADD #v :one, doneCount :d, requiredDoneCount :rd SET updatedAt = :at",
        names={"#v": "version", "#s": "status"},
        values={
            ":one": 1,
            ":d": done_delta,
            ":rd": required_delta,
            ":at": at,
            ":ip": IN_PROGRESS,
            ":read": run["version"],
        },
        condition="#s = :ip AND #v = :read",
    )
    version = run["version"] + 1
    after = _state_view(state)
    event = repo.event_item(org_id, rid, version, ITEM_SET, actor, at, item_id, before, after)
    audit = entry_op(
        ctx,
        org_id,
        "run.item_set",
        "Run",
        rid,
        {"itemId": item_id, "before": before, "after": after},
    )
    try:
        await ctx.store.transact([item_op, meta_op, transact.put_new(event), audit])
    except ConditionFailed as exc:
        failed = exc.failed_index()
        if failed == 0:
            raise _ItemChanged() from exc
        if failed in (1, 2):
            # Another change took the version (or submitted the run: the next attempt's
            # fresh read tells).
            raise Retry() from exc
        raise
    except RetryableStoreError as exc:
        # A TransactionConflict cancels the whole transaction too: nothing was written.
        raise Retry() from exc
    ctx.forget(keys.run_key(org_id, rid))
    ctx.forget(keys.run_item(org_id, rid, item_id))
    await publish(ctx, event)
    new_run = {
        **run,
        "version": version,
        "doneCount": run["doneCount"] + done_delta,
        "requiredDoneCount": run["requiredDoneCount"] + required_delta,
        "updatedAt": at,
    }
    return state, new_run

"""How runs move an assignment: the transaction operations the runs domain adds to its own
transactions (start, complete, reopen) and what follows their commit."""

from __future__ import annotations

from typing import Any

from graphql_api.assignments import repository as repo
from graphql_api.assignments.service import (
    ASSIGNED,
    IN_PROGRESS,
    history_entry,
    publish_change,
)
from graphql_api.context import Context
from graphql_api.store import keys, transact
from graphql_api.store.codec import Item


def started(item: Item, rid: str, actor: str, at: str) -> Item:
    """The assignment as `run_started_op` leaves it."""
    return {
        **item,
        "activeRunId": rid,
        "status": IN_PROGRESS,
        "history": [*item.get("history", []), _run_started_entry(actor, at)],
        "version": item["version"] + 1,
        "updatedAt": at,
    }


def _run_started_entry(actor: str, at: str) -> dict[str, Any]:
    return history_entry(IN_PROGRESS, actor, at, "Run started")


def run_started_op(org_id: str, aid: str, rid: str, actor: str, at: str) -> dict[str, Any]:
    """Points the assignment at its run. The condition makes startRun race-safe: of two
    concurrent starts only one sets activeRunId; the other fails and returns the winner's."""
    return transact.update(
        keys.assignment_key(org_id, aid),
        "SET activeRunId = :rid, #s = :ip, history = list_append(history, :h), "
        "#v = #v + :one, updatedAt = :at",
        names={"#s": "status", "#v": "version"},
        values={
            ":rid": rid,
            ":ip": IN_PROGRESS,
            ":assigned": ASSIGNED,
            ":h": [_run_started_entry(actor, at)],
            ":one": 1,
            ":at": at,
        },
        condition="attribute_not_exists(activeRunId) AND #s = :assigned",
    )


def status_op(
    org_id: str, aid: str, new_status: str, from_status: str, actor: str, at: str, note: str
) -> dict[str, Any]:
    """Moves the assignment from `from_status` to `new_status` with a history entry; fails
    (ConditionFailed) when it is no longer in `from_status`, e.g. cancelled meanwhile."""
    return transact.update(
        keys.assignment_key(org_id, aid),
        "SET #s = :new, history = list_append(history, :h), #v = #v + :one, updatedAt = :at",
        names={"#s": "status", "#v": "version"},
        values={
            ":new": new_status,
            ":from": from_status,
            ":h": [history_entry(new_status, actor, at, note)],
            ":one": 1,
            ":at": at,
        },
        condition="#s = :from",
    )


async def after_status_change(ctx: Context, org_id: str, aid: str, change: str) -> None:
    """After a run committed a status change: drop the cached item, tell the channel."""
    ctx.forget(keys.assignment_key(org_id, aid))
    item = await repo.get_consistent(ctx, org_id, aid)
    if item is not None:
        await publish_change(ctx, item, change)

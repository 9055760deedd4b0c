"""Files on runs: attaching an uploaded file to a run or to one of its PHOTO items, and
detaching it again.

The media domain owns files; a run owns its items, its versions and its events. media hands
its own transaction operations (the file's new state, the organization's usage, the audit
entry) to `change_files`, which adds the run's (the PHOTO item's new value, the META version,
the event of the new version) and commits everything as one TransactWriteItems, following
the version protocol described in `runs.service`. media's operations come first, so the
index of a failed condition among them is the same as in the list media passed.

A PHOTO item's value is the list of the files' global IDs. Attaching a file does not change
`done` (that stays the worker's answer through setItemState), so the run's progress counters
do not move and FILE_* events fold into live progress like comments do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphql_api.common.time import now_iso
from graphql_api.context import Context
from graphql_api.errors import bad_input, not_found
from graphql_api.runs import repository as repo
from graphql_api.runs import service
from graphql_api.runs.values import MAX_PHOTO_FILES
from graphql_api.store import keys, transact
from graphql_api.store.codec import Item
from graphql_api.store.errors import ConditionFailed, RetryableStoreError

FILE_ATTACHED, FILE_DETACHED = "FILE_ATTACHED", "FILE_DETACHED"


async def check_target(ctx: Context, org_id: str, rid: str, item_id: str | None) -> Item:
    """The run, once the caller may work on it; with `item_id`, that item must be a PHOTO
    item of an IN_PROGRESS run. Returns the item's definition ({} for the whole run)."""
    run, _ = await service.run_for_work(ctx, org_id, rid)
    if item_id is None:
        return {}
    definition = service.definition_of(await service.snapshot_of(ctx, run), item_id)
    if definition["kind"] != "PHOTO":
        raise bad_input("Files attach only to PHOTO items", argument="target")
    if run["status"] != service.IN_PROGRESS:
        raise bad_input("The run is submitted; reopen it to change items")
    return definition


def _view(state: Item | None) -> dict[str, Any]:
    """Same shape as an ITEM_SET event's before/after (no key for a missing value)."""
    if state is None:
        return {"done": False, "version": 0}
    view = {"done": bool(state.get("done")), "version": state["version"]}
    if state.get("value") is not None:
        view["value"] = state["value"]
    return view


def _current(state: Item | None) -> list[str]:
    return [str(v) for v in ((state or {}).get("value") or [])]


def _new_value(definition: Item, state: Item | None, file_ref: str, attach: bool) -> list[str]:
    current = _current(state)
    if not attach:
        return [v for v in current if v != file_ref]
    if file_ref in current:
        return current
    limit = int(definition.get("maxFiles") or MAX_PHOTO_FILES)
    if len(current) >= limit:
        raise bad_input(f"At most {limit} photos", argument="target", maxFiles=limit)
    return [*current, file_ref]


def _item_op(
    run: Item, item_id: str, state: Item | None, value: list[str], actor: str, at: str
) -> tuple[dict[str, Any], Item]:
    version = (state or {}).get("version", 0)
    new_state: Item = {
        **keys.run_item(run["orgId"], run["id"], item_id),
        "entity": "RunItemState",
        "orgId": run["orgId"],
        "runId": run["id"],
        "itemId": item_id,
        "done": bool((state or {}).get("done")),
        "value": value,
        "version": version + 1,
        "updatedBy": actor,
        "updatedAt": at,
    }
    if state is None:
        return transact.put(new_state, "attribute_not_exists(pk)"), new_state
    op = transact.put(new_state, "#v = :v", names={"#v": "version"}, values={":v": version})
    return op, new_state


async def change_files(
    ctx: Context,
    org_id: str,
    rid: str,
    item_id: str | None,
    file_ref: str,
    *,
    attach: bool,
    extra_ops: Sequence[dict[str, Any]],
) -> Item:
    """Commit `extra_ops` with the run's side of attaching (or detaching) `file_ref` (the
    file's global ID), then publish the run event. Returns the event.

    A ConditionFailed of one of `extra_ops` is raised as is, for the caller to map."""
    definition: Item = {}
    for attempt in range(service.MAX_ATTEMPTS):
        if attempt:
            await service.pause(attempt)
        run = await service.require_run_consistent(ctx, org_id, rid)
        at, actor = now_iso(), ctx.user_id
        ops = list(extra_ops)
        before: dict[str, Any] | None = None
        after: dict[str, Any] = {"fileId": file_ref}
        item_changed = False
        if item_id is not None:
            if run["status"] != service.IN_PROGRESS:
                raise bad_input("The run is submitted; reopen it to change items")
            if not definition:
                definition = service.definition_of(await service.snapshot_of(ctx, run), item_id)
            state = await repo.state_consistent(ctx, org_id, rid, item_id)
            value = _new_value(definition, state, file_ref, attach)
            before = _view(state)
            after = {**before, "fileId": file_ref}
            if value != _current(state):
                op, new_state = _item_op(run, item_id, state, value, actor, at)
                ops.append(op)
                item_changed = True
                after = {**_view(new_state), "fileId": file_ref}
        meta_index = len(ops)
        condition = "attribute_exists(pk)" if item_id is None else "#s = :ip"
        ops.append(
            transact.update(
                keys.run_key(org_id, rid),
                "ADD #v :one SET updatedAt = :at",
                names={"#v": "version", **({"#s": "status"} if item_id else {})},
                values={":one": 1, ":at": at, **({":ip": service.IN_PROGRESS} if item_id else {})},
                condition=condition,
            )
        )
        event = repo.event_item(
            org_id,
            rid,
            run["version"] + 1,
            FILE_ATTACHED if attach else FILE_DETACHED,
            actor,
            at,
            item_id,
            before,
            after,
        )
        ops.append(transact.put_new(event))
        try:
            await ctx.store.transact(ops)
        except ConditionFailed as exc:
            failed = exc.failed_index()
            if failed is not None and failed < len(extra_ops):
                raise
            if failed == meta_index:
                if item_id is None:
                    raise not_found("Run") from exc
                raise bad_input("The run is submitted; reopen it to change items") from exc
            # The item's version or the event slot moved: read again and redo.
            continue
        except RetryableStoreError:
            continue
        ctx.forget(keys.run_key(org_id, rid))
        if item_changed and item_id is not None:
            ctx.forget(keys.run_item(org_id, rid, item_id))
        await service.publish(ctx, event)
        return event
    raise service.busy(run)

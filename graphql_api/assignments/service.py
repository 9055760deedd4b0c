"""Business rules of assignments: who works on which published checklist, by when.

Stored status is ASSIGNED -> IN_PROGRESS -> COMPLETED (runs move it) or CANCELLED; OVERDUE is
derived at read time from the due time, never stored, so it needs no background job. Every
status change appends to the assignment's history (who, when, note). Every change is one
TransactWriteItems with its audit entry; the org's assignment channel hears of it after the
commit.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from graphql_api.assignments import repository as repo
from graphql_api.audit.service import entry_op
from graphql_api.checklists import service as checklists
from graphql_api.common.ids import new_id
from graphql_api.common.time import now_iso
from graphql_api.context import Context
from graphql_api.errors import bad_input, conflict, forbidden, not_found
from graphql_api.notifications import fanout
from graphql_api.rbac.roles import Role
from graphql_api.realtime import channels
from graphql_api.store import keys, transact
from graphql_api.store.codec import Item
from graphql_api.store.errors import ConditionFailed
from graphql_api.teams import service as teams

ASSIGNED, IN_PROGRESS, COMPLETED = "ASSIGNED", "IN_PROGRESS", "COMPLETED"
OVERDUE, CANCELLED = "OVERDUE", "CANCELLED"
OPEN = (ASSIGNED, IN_PROGRESS)
PRIORITIES = ("LOW", "MEDIUM", "HIGH", "URGENT")
# Each assignee is one index item in the creating transaction (at most 100 operations).
MAX_ASSIGNEES = 25
MAX_NOTES = 2000
MAX_HISTORY_NOTE = 500


def status_of(item: Item, now: str | None = None) -> str:
    """The status clients see: an open assignment past its due time is OVERDUE."""
    stored: str = item["status"]
    if stored in OPEN and item["dueAt"] < (now or now_iso()):
        return OVERDUE
    return stored


def _notes(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_NOTES:
        raise bad_input(f"notes must be at most {MAX_NOTES} characters", argument="notes")
    return value or None


def _history_note(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_HISTORY_NOTE:
        raise bad_input(f"note must be at most {MAX_HISTORY_NOTE} characters", argument="note")
    return value or None


def _priority(value: str) -> str:
    if value not in PRIORITIES:
        raise bad_input(f"priority must be one of {', '.join(PRIORITIES)}", argument="priority")
    return value


def history_entry(status: str, actor: str, at: str, note: str | None = None) -> dict[str, Any]:
    return {"status": status, "by": actor, "at": at, "note": note}


# reads and access --------------------------------------------------------------
async def require_assignment(ctx: Context, org_id: str, aid: str) -> Item:
    """The assignment through the request's loader, or NOT_FOUND (also another tenant's)."""
    item = await repo.get(ctx, org_id, aid)
    if item is None:
        raise not_found("Assignment")
    return item


async def require_assignment_consistent(ctx: Context, org_id: str, aid: str) -> Item:
    item = await repo.get_consistent(ctx, org_id, aid)
    if item is None:
        raise not_found("Assignment")
    return item


async def check_can_work(ctx: Context, org_id: str, assignment: Item) -> None:
    """MANAGER+ work on any assignment; a MEMBER only on one given to them or their team."""
    role = await ctx.role_in(org_id)
    if role is None:
        raise not_found("Assignment")
    if role.at_least(Role.MANAGER):
        return
    if not role.at_least(Role.MEMBER):
        raise forbidden("Requires the MEMBER role or above in this organization")
    uid = ctx.user_id
    if uid in assignment.get("assigneeIds", []):
        return
    team_id = assignment.get("teamId")
    if team_id and team_id in await teams.team_ids_of(ctx, org_id, uid):
        return
    raise forbidden("This assignment is not given to you or your team")


async def _check_targets(ctx: Context, org_id: str, uids: list[str], team_id: str | None) -> None:
    """Every assignee is a member and the team exists; NOT_FOUND otherwise."""
    members = await ctx.load_many([keys.member(org_id, u) for u in uids])
    if any(m is None for m in members):
        raise not_found("Member")
    if team_id is not None:
        await teams.require_team(ctx, org_id, team_id)


def _assignees(uids: list[str]) -> list[str]:
    unique = list(dict.fromkeys(uids))
    if len(unique) > MAX_ASSIGNEES:
        raise bad_input(
            f"An assignment has at most {MAX_ASSIGNEES} assignees", argument="assigneeIds"
        )
    return unique


async def publish_change(
    ctx: Context, item: Item, change: str, previous: Item | None = None
) -> None:
    """Tell the org's assignment channel (after the commit; never raises). An update also
    names who it was given to before, so people taken off it hear of it too."""
    event: dict[str, Any] = {
        "type": f"ASSIGNMENT_{change}",
        "orgId": item["orgId"],
        "assignmentId": item["id"],
        "teamId": item.get("teamId"),
        "assigneeIds": item.get("assigneeIds", []),
        "status": item["status"],
        "version": item["version"],
        "at": item.get("updatedAt"),
    }
    if previous is not None:
        event["previousTeamId"] = previous.get("teamId")
        event["previousAssigneeIds"] = previous.get("assigneeIds", [])
    await ctx.hub.publish(channels.assignments(item["orgId"]), json.dumps(event))


def _team_check(org_id: str, team_id: str) -> dict[str, Any]:
    # Guards against a team deleted between the read and the commit.
    return transact.check(keys.team(org_id, team_id), "attribute_exists(pk)")


# items ---------------------------------------------------------------------------
def new_assignment(
    org_id: str,
    checklist_id: str,
    checklist_version: int,
    uids: list[str],
    team_id: str | None,
    due_at: str,
    priority: str,
    notes: str | None,
    actor: str,
    at: str,
) -> Item:
    """A new ASSIGNED assignment item (validated inputs; not yet stored)."""
    aid = new_id()
    return {
        **keys.assignment(org_id, aid, due_at),
        "entity": "Assignment",
        "id": aid,
        "orgId": org_id,
        "checklistId": checklist_id,
        "checklistVersion": checklist_version,
        "assigneeIds": uids,
        "teamId": team_id,
        "dueAt": due_at,
        "priority": priority,
        "notes": notes,
        "status": ASSIGNED,
        "history": [history_entry(ASSIGNED, actor, at)],
        "activeRunId": None,
        "createdBy": actor,
        "createdAt": at,
        "updatedAt": at,
        "version": 1,
    }


def index_items(item: Item) -> list[Item]:
    """The assignee and team index items of an assignment."""
    org_id, aid, due = item["orgId"], item["id"], item["dueAt"]
    out = [repo.assignee_item(org_id, u, aid, due) for u in item.get("assigneeIds", [])]
    if item.get("teamId"):
        out.append(repo.team_item(org_id, item["teamId"], aid, due))
    return out


# mutations -----------------------------------------------------------------------
async def create_assignment(
    ctx: Context,
    org_id: str,
    checklist_id: str,
    assignee_ids: list[str],
    team_id: str | None,
    due_at: str,
    priority: str,
    notes: str | None,
) -> Item:
    uids = _assignees(assignee_ids)
    if not uids and team_id is None:
        raise bad_input("Assign to people, a team or both", argument="assigneeIds")
    priority = _priority(priority)
    notes = _notes(notes)
    # One loader round for the checklist head, the members and the team.
    snapshot, _ = await asyncio.gather(
        checklists.get_published(ctx, org_id, checklist_id),
        _check_targets(ctx, org_id, uids, team_id),
    )
    item = new_assignment(
        org_id,
        checklist_id,
        snapshot["version"],
        uids,
        team_id,
        due_at,
        priority,
        notes,
        ctx.user_id,
        now_iso(),
    )
    aid = item["id"]
    ops = [transact.put_new(i) for i in [item, *index_items(item)]]
    if team_id is not None:
        ops += [_team_check(org_id, team_id)]
    details = {
        "checklistId": checklist_id,
        "checklistVersion": snapshot["version"],
        "assigneeIds": uids,
        "teamId": team_id,
        "dueAt": due_at,
        "priority": priority,
    }
    ops.append(entry_op(ctx, org_id, "assignment.created", "Assignment", aid, details))
    alerts = await fanout.assigned(ctx, item, snapshot.get("title", ""), uids, team_id, len(ops))
    try:
        # Notifications go last so the indexes checked below stay those of `ops`.
        await ctx.store.transact([*ops, *alerts.ops()])
    except ConditionFailed as exc:
        if team_id is not None and exc.failed_index() == len(ops) - 2:
            raise not_found("Team") from exc
        raise
    await publish_change(ctx, item, "CREATED")
    await alerts.committed(ctx)
    return item


@dataclass
class AssignmentChanges:
    """Fields of updateAssignment; None leaves a field as it is."""

    assignee_ids: list[str] | None = None
    team_id: str | None = None
    clear_team: bool = False
    due_at: str | None = None
    priority: str | None = None
    notes: str | None = None


async def _stale(ctx: Context, org_id: str, aid: str) -> Exception:
    current = await repo.get_consistent(ctx, org_id, aid)
    if current is None:
        return not_found("Assignment")
    return conflict("The assignment changed meanwhile", currentVersion=current["version"])


def _index_ops(old: Item, new: Item) -> list[dict[str, Any]]:
    """Index items to delete, add or move (a due change moves every index entry)."""
    org_id, aid = new["orgId"], new["id"]
    due, moved = new["dueAt"], new["dueAt"] != old["dueAt"]
    before, after = set(old.get("assigneeIds", [])), set(new.get("assigneeIds", []))
    ops = [
        transact.delete(repo.key_only(keys.assignee_index(org_id, u, aid, due)))
        for u in sorted(before - after)
    ]
    ops += [
        transact.put(repo.assignee_item(org_id, u, aid, due))
        for u in new["assigneeIds"]
        if u not in before or moved
    ]
    old_team, new_team = old.get("teamId"), new.get("teamId")
    if old_team and old_team != new_team:
        ops.append(
            transact.delete(repo.key_only(keys.team_assignment_index(org_id, old_team, aid, due)))
        )
    if new_team and (new_team != old_team or moved):
        ops.append(transact.put(repo.team_item(org_id, new_team, aid, due)))
    if new_team and new_team != old_team:
        ops.append(_team_check(org_id, new_team))
    return ops


async def update_assignment(
    ctx: Context,
    org_id: str,
    aid: str,
    expected_version: int | None,
    changes: AssignmentChanges,
) -> Item:
    current = await require_assignment_consistent(ctx, org_id, aid)
    version = current["version"]
    if expected_version is not None and expected_version != version:
        raise conflict("The assignment changed meanwhile", currentVersion=version)
    if current["status"] in (COMPLETED, CANCELLED):
        raise bad_input(f"A {current['status'].lower()} assignment cannot be changed")
    new = dict(current)
    if changes.assignee_ids is not None:
        new["assigneeIds"] = _assignees(changes.assignee_ids)
    if changes.clear_team:
        new["teamId"] = None
    elif changes.team_id is not None:
        new["teamId"] = changes.team_id
    if changes.due_at is not None:
        new.update(keys.assignment(org_id, aid, changes.due_at), dueAt=changes.due_at)
    if changes.priority is not None:
        new["priority"] = _priority(changes.priority)
    if changes.notes is not None:
        new["notes"] = _notes(changes.notes)
    fields = ("assigneeIds", "teamId", "dueAt", "priority", "notes")
    changed = {f: new.get(f) for f in fields if new.get(f) != current.get(f)}
    if not changed:
        return current
    if not new["assigneeIds"] and not new.get("teamId"):
        raise bad_input("Assign to people, a team or both", argument="assigneeIds")
    added = [u for u in new["assigneeIds"] if u not in current.get("assigneeIds", [])]
    new_team = new.get("teamId") if new.get("teamId") != current.get("teamId") else None
    await _check_targets(ctx, org_id, added, new_team)
    new.update(version=version + 1, updatedAt=now_iso())
    head = transact.put(new, condition="#v = :v", names={"#v": "version"}, values={":v": version})
    ops = [head, *_index_ops(current, new)]
    ops.append(entry_op(ctx, org_id, "assignment.updated", "Assignment", aid, changed))
    # Only people it is newly given to hear of it (direct assignees already had it).
    before = set(current.get("assigneeIds", []))
    alerts = fanout.Batch()
    if added or new_team:
        checklist = await ctx.load(keys.checklist(org_id, new["checklistId"]))
        title = (checklist or {}).get("title", "")
        alerts = await fanout.assigned(ctx, new, title, added, new_team, len(ops), before)
    try:
        # Notifications go last so the indexes checked below stay those of `ops`.
        await ctx.store.transact([*ops, *alerts.ops()])
    except ConditionFailed as exc:
        failed = exc.failed_index()
        if failed == 0:
            raise await _stale(ctx, org_id, aid) from exc
        if new_team is not None and failed == len(ops) - 2:
            raise not_found("Team") from exc
        raise
    ctx.forget(keys.assignment_key(org_id, aid))
    await publish_change(ctx, new, "UPDATED", previous=current)
    await alerts.committed(ctx)
    return new


async def cancel_assignment(
    ctx: Context, org_id: str, aid: str, note: str | None, expected_version: int | None
) -> Item:
    current = await require_assignment_consistent(ctx, org_id, aid)
    version = current["version"]
    if expected_version is not None and expected_version != version:
        raise conflict("The assignment changed meanwhile", currentVersion=version)
    if current["status"] == CANCELLED:
        return current
    if current["status"] == COMPLETED:
        raise bad_input("A completed assignment cannot be cancelled")
    at = now_iso()
    entry = history_entry(CANCELLED, ctx.user_id, at, _history_note(note))
    op = transact.update(
        keys.assignment_key(org_id, aid),
        "SET #s = :s, history = list_append(history, :h), #v = #v + :one, updatedAt = :at",
        names={"#s": "status", "#v": "version"},
        values={":s": CANCELLED, ":h": [entry], ":one": 1, ":at": at, ":v": version},
        condition="#v = :v",
    )
    details = {"before": current["status"], "note": entry["note"]}
    try:
        await ctx.store.transact(
            [op, entry_op(ctx, org_id, "assignment.cancelled", "Assignment", aid, details)]
        )
    except ConditionFailed as exc:
        raise await _stale(ctx, org_id, aid) from exc
    ctx.forget(keys.assignment_key(org_id, aid))
    new = {
        **current,
        "status": CANCELLED,
        "history": [*current.get("history", []), entry],
        "version": version + 1,
        "updatedAt": at,
    }
    await publish_change(ctx, new, "CANCELLED")
    return new

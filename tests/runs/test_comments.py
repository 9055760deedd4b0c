"""addComment: comment events, @mentions -> stored notifications and unread counts."""

from __future__ import annotations

from graphql_api.auth.principal import Principal
from graphql_api.context import Context, Resources
from graphql_api.notifications import service as notifications
from graphql_api.runs.comments import mention_tokens
from tests.support.domain_factories import COMMENT, Workspace

INBOX = """
query($first: Int, $after: String) {
  me {
    unreadCount
    notifications(first: $first, after: $after) {
      nodes { id kind title body entityId orgId read }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""
RUN = """
query($id: ID!) {
  run(id: $id) {
    version
    comments { nodes { id itemId body authorId mentions author { userId } } }
    events(afterVersion: 1) { nodes { version type itemId after } }
  }
}"""


def test_mention_tokens() -> None:
    body = "Ping @alice, @bob@example.com and @alice again. Mail me@example.com; @carol."
    assert mention_tokens(body) == ["alice", "bob@example.com", "carol"]


async def test_mentions_notify_members(fresh: Workspace) -> None:
    ws = fresh
    run_id = (await ws.start((await ws.assign())["id"]))["id"]
    member, mate, viewer = (ws.client(r) for r in ("MEMBER", "TEAMMATE", "VIEWER"))
    before = (await mate.data(INBOX))["me"]["unreadCount"]
    body = (
        f"@{mate.sub} please re-check; cc @{(viewer.email or '').upper()} "
        f"and @{member.sub} (me) and @nobody-here"
    )
    comment = (await member.data(COMMENT, {"run": run_id, "body": body, "item": "n1"}))[
        "addComment"
    ]
    assert comment["itemId"] == "n1"
    assert comment["authorId"] == member.sub
    assert comment["mentions"] == [mate.sub, viewer.sub]
    inbox = (await mate.data(INBOX))["me"]
    assert inbox["unreadCount"] == before + 1
    # The assignment itself notified MEMBER and TEAMMATE too (ASSIGNED): only mentions here.
    (note,) = [n for n in inbox["notifications"]["nodes"] if n["kind"] == "MENTION"]
    assert note["kind"] == "MENTION"
    assert note["entityId"] == run_id
    assert note["orgId"] == ws.org_id
    assert note["read"] is False
    assert note["body"] == body
    assert member.sub in note["title"]
    assert (await viewer.data(INBOX))["me"]["unreadCount"] == 1
    # The author is never notified, not even by mentioning themself.
    member_nodes = (await member.data(INBOX))["me"]["notifications"]["nodes"]
    assert [n for n in member_nodes if n["kind"] == "MENTION"] == []
    run = (await ws.client("VIEWER").data(RUN, {"id": run_id}))["run"]
    assert run["version"] == 2
    assert run["comments"]["nodes"] == [
        {
            "id": comment["id"],
            "itemId": "n1",
            "body": body,
            "authorId": member.sub,
            "mentions": [mate.sub, viewer.sub],
            "author": {"userId": member.sub},
        }
    ]
    (event,) = run["events"]["nodes"]
    assert (event["version"], event["type"], event["itemId"]) == (2, "COMMENT_ADDED", "n1")
    assert event["after"]["commentId"] == comment["id"]


async def test_comment_validation(workspace: Workspace) -> None:
    ws = workspace
    run_id = (await ws.start((await ws.assign())["id"]))["id"]
    member = ws.client("MEMBER")
    assert await member.error_code(COMMENT, {"run": run_id, "body": "   "}) == "BAD_USER_INPUT"
    too_long = {"run": run_id, "body": "x" * 5001}
    assert await member.error_code(COMMENT, too_long) == "BAD_USER_INPUT"


async def test_notify_stores_and_pages(workspace: Workspace, resources: Resources) -> None:
    ws = workspace
    viewer = ws.client("VIEWER")
    start = (await viewer.data(INBOX))["me"]["unreadCount"]
    ctx = Context(resources, principal=Principal(ws.client("OWNER").sub or ""))
    items = [
        notifications.build(
            ws.local_org,
            viewer.sub or "",
            notifications.MENTION,
            f"n{i}",
            "b",
            "x",
            f"2030-01-0{i}",
        )
        for i in range(1, 4)
    ]
    assert await notifications.notify(ctx, items) == items
    first = (await viewer.data(INBOX, {"first": 2}))["me"]
    assert first["unreadCount"] == start + 3
    assert [n["title"] for n in first["notifications"]["nodes"]] == ["n3", "n2"]
    assert first["notifications"]["pageInfo"]["hasNextPage"] is True
    cursor = first["notifications"]["pageInfo"]["endCursor"]
    rest = (await viewer.data(INBOX, {"first": 2, "after": cursor}))["me"]["notifications"]
    assert [n["title"] for n in rest["nodes"]][:1] == ["n1"]
    assert await viewer.error_code(INBOX, {"first": 101}) == "BAD_USER_INPUT"

"""Queries shared by the notification tests."""

from __future__ import annotations

from typing import Any

from tests.support.graphql import GraphQLClient

INBOX = """
query {
  me {
    unreadCount
    notifications(first: 100) { nodes { id kind title body entityId orgId read } }
  }
}"""
MARK = """
mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) { id unreadCount } }"""
MARK_ALL = "mutation { markNotificationsRead { id unreadCount } }"


async def inbox(client: GraphQLClient) -> tuple[int, list[dict[str, Any]]]:
    """(unreadCount, notifications newest first)."""
    me = (await client.data(INBOX))["me"]
    return me["unreadCount"], me["notifications"]["nodes"]


async def kinds(client: GraphQLClient, kind: str) -> list[dict[str, Any]]:
    return [n for n in (await inbox(client))[1] if n["kind"] == kind]


async def consistent(client: GraphQLClient) -> int:
    """unreadCount, after checking it equals the number of unread stored notifications."""
    count, nodes = await inbox(client)
    assert count == sum(1 for n in nodes if not n["read"])
    return count

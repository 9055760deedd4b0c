"""Schema building blocks shared by every domain: Node, connections, scalars."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, NewType, TypeVar

import strawberry

from graphql_api.store.client import Page
from graphql_api.store.codec import Item
from graphql_api.store.pagination import CursorCodec

T = TypeVar("T")

Long = NewType("Long", int)
JSON = NewType("JSON", object)

SCALAR_MAP: dict[object, Any] = {
    Long: strawberry.scalar(
        name="Long",
        serialize=int,
        parse_value=int,
        description="A 64-bit integer (byte counts); JSON number.",
    ),
    JSON: strawberry.scalar(
        name="JSON",
        serialize=lambda v: v,
        parse_value=lambda v: v,
        description="Arbitrary JSON value.",
    ),
}


@strawberry.interface(description="An object with a global, opaque ID (see Query.node).")
class Node:
    id: strawberry.ID = strawberry.field(description="Global ID of the object.")


@strawberry.type(description="Where a page ends and whether more follow.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when another page follows.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` to get the next page.")


@strawberry.type(description="An item of a page with its cursor.")
class Edge(Generic[T]):
    node: T = strawberry.field(description="The item.")
    cursor: str = strawberry.field(description="Cursor of this item.")


@strawberry.type(description="A page of a list (Relay connection).")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="Items of this page with cursors.")
    page_info: PageInfo = strawberry.field(description="Pagination state.")

    @strawberry.field(description="Items of this page.")
    def nodes(self) -> list[T]:
        return [e.node for e in self.edges]


def item_key(item: Item, index: str | None) -> dict[str, Any]:
    key = {"pk": item["pk"], "sk": item["sk"]}
    if index:
        key[f"{index}pk"] = item[f"{index}pk"]
        key[f"{index}sk"] = item[f"{index}sk"]
    return key


def connection(
    page: Page,
    size: int,
    to_node: Callable[[Item], T],
    cursors: CursorCodec,
    scope: str,
    index: str | None = None,
) -> Connection[T]:
    """Build a connection from a Query made with `Limit = size + 1`."""
    items = page.items[:size]
    has_next = len(page.items) > size or (len(page.items) == size and page.last_key is not None)
    edges = [Edge(node=to_node(i), cursor=cursors.encode(item_key(i, index), scope)) for i in items]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None),
    )

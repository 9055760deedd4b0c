"""The per-request item loader: every GetItem of a request is batched into BatchGetItem."""

from __future__ import annotations

from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from graphql_api.store.client import Store
from graphql_api.store.codec import Item
from graphql_api.store.keys import Key

ItemKey = tuple[str, str]


def item_loader(store: Store) -> DataLoader[ItemKey, Item | None]:
    """Loads items by (pk, sk); a key is fetched at most once per request."""

    async def load(keys: Sequence[ItemKey]) -> list[Item | None]:
        return await store.batch_get([{"pk": pk, "sk": sk} for pk, sk in keys])

    return DataLoader(load_fn=load, max_batch_size=100)


def as_item_key(key: Key) -> ItemKey:
    return (key["pk"], key["sk"])

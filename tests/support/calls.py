"""Count the DynamoDB calls of one store's client.

The process-wide `dynamodb_calls_total` metric also counts whatever else runs meanwhile
(other tests' subscriptions, background tasks); a botocore event hook on one client does not.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from graphql_api.store.client import Store

_ids = itertools.count()


@contextmanager
def counting_calls(store: Store) -> Iterator[Counter[str]]:
    """Calls by operation name (one per API call, whatever botocore retries)."""
    counts: Counter[str] = Counter()
    unique_id = f"counting-calls-{next(_ids)}"

    def hook(model: Any, **_: Any) -> None:
        counts[model.name] += 1

    events = store.dynamodb.meta.events
    events.register("before-call.dynamodb", hook, unique_id=unique_id)
    try:
        yield counts
    finally:
        events.unregister("before-call.dynamodb", unique_id=unique_id)

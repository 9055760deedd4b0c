"""notificationReceived: the caller's new notifications, on every connection, any replica.

Published on `user:<userId>:notifications` after the commit that stored them. After a
broadcast gap (Redis restart) the newest stored notifications are re-read, so none is lost.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator
from typing import Any

from graphql_api.common.time import now_iso
from graphql_api.context import Context
from graphql_api.notifications import service
from graphql_api.notifications.types import Notification
from graphql_api.realtime import channels
from graphql_api.subscriptions.stream import StreamClosed, open_stream

# How many recent notifications a resync re-reads (and how many ids are kept to dedupe).
RESYNC_WINDOW = 50


async def notification_events(ctx: Context) -> AsyncGenerator[Notification, None]:
    user_id = ctx.user_id
    seen: deque[str] = deque(maxlen=RESYNC_WINDOW * 2)
    since = now_iso()
    async with open_stream(ctx, [channels.notifications(user_id)]) as stream:
        while True:
            try:
                delivery = await stream.next()
            except StreamClosed:
                return
            items: list[Any]
            if delivery.resync:
                page = await service.page(ctx, user_id, RESYNC_WINDOW, None)
                items = sorted(
                    (i for i in page.items if i.get("createdAt", "") >= since),
                    key=lambda i: (i["createdAt"], i["id"]),
                )
            else:
                items = [delivery.data]
            for item in items:
                if not isinstance(item, dict) or item.get("userId") != user_id:
                    continue
                if item.get("id") in seen:
                    continue
                seen.append(item["id"])
                since = max(since, item.get("createdAt", since))
                yield Notification.from_item(item)

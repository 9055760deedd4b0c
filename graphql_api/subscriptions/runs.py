"""runUpdated(runId, afterVersion): every version of a run, in order, no gap, no duplicate.

The order of operations is what makes it gap-free:
1. subscribe to `org:<org>:run:<run>` (and wait until the broadcast confirms it),
2. read the run and the events after `afterVersion` from DynamoDB (consistently),
3. go live, dropping versions already delivered.
Whatever commits after (2) is published after the subscription of (1), so it arrives; what
committed before (2) is in the read.

Per process, the run's feed sequences the channel once for all its local subscribers
(`RunSequencer`): it drops duplicates, fills a version jump or a broadcast gap (Redis restart)
from DynamoDB, and folds each event into the run's progress. Each subscriber still checks
its own sequence and re-reads any gap itself, so nothing depends on the feed being perfect.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncGenerator, Iterable, Sequence
from dataclasses import dataclass, field, replace

import strawberry

from graphql_api.common.ids import to_global_id
from graphql_api.context import Context, Resources
from graphql_api.errors import bad_input
from graphql_api.realtime import channels
from graphql_api.runs import service as runs
from graphql_api.runs.types import Run, RunEvent, RunProgress
from graphql_api.store.codec import Item
from graphql_api.subscriptions.fanout import Delivery, Sequencer
from graphql_api.subscriptions.sharing import Express, SharedResults
from graphql_api.subscriptions.stream import StreamClosed, open_stream
from graphql_api.subscriptions.types import RunUpdate


@dataclass(frozen=True, slots=True)
class Progress:
    """The run's counters at one version."""

    done: int
    total: int
    required_done: int
    required_total: int

    @classmethod
    def of_run(cls, run: Item) -> Progress:
        return cls(
            done=int(run.get("doneCount", 0)),
            total=int(run.get("totalCount", 0)),
            required_done=int(run.get("requiredDoneCount", 0)),
            required_total=int(run.get("requiredCount", 0)),
        )

    def moved(self, event: Item, required: frozenset[str], sign: int = 1) -> Progress:
        """After `event` (sign=1), or before it (sign=-1): an event about an item moves the
        counters when it changes the item's `done` (ITEM_SET; file events keep it)."""
        before, after = event.get("before"), event.get("after")
        if not event.get("itemId") or not isinstance(before, dict) or not isinstance(after, dict):
            return self
        delta = sign * (int(bool(after.get("done"))) - int(bool(before.get("done"))))
        required_delta = delta if event.get("itemId") in required else 0
        return replace(
            self, done=self.done + delta, required_done=self.required_done + required_delta
        )

    def to_type(self) -> RunProgress:
        return RunProgress(
            done=self.done,
            total=self.total,
            required_done=self.required_done,
            required_total=self.required_total,
            percent=round(100.0 * self.done / self.total, 1) if self.total else 100.0,
        )


@dataclass(slots=True)
class RunStep:
    """One event with the progress it left the run at (shared by every local subscriber)."""

    event: Item
    progress: Progress
    # The update built once for every subscriber of this step (see `_update`).
    update: RunUpdate | None = field(default=None, compare=False)

    @property
    def version(self) -> int:
        return int(self.event["version"])


# Published checklist versions never change, so which items are required is cached per
# process (subscribers of the same run then cost no read for it).
_REQUIRED: OrderedDict[tuple[str, str, int], frozenset[str]] = OrderedDict()
_REQUIRED_MAX = 1024


async def _required_items(ctx: Context, run: Item) -> frozenset[str]:
    key = (run["orgId"], run["checklistId"], int(run["checklistVersion"]))
    cached = _REQUIRED.get(key)
    if cached is not None:
        _REQUIRED.move_to_end(key)
        return cached
    snapshot = await runs.snapshot_of(ctx, run)
    items = snapshot.get("items", []) if snapshot else []
    required = frozenset(i["id"] for i in items if i.get("required", True))
    _REQUIRED[key] = required
    if len(_REQUIRED) > _REQUIRED_MAX:
        _REQUIRED.popitem(last=False)
    return required


def _forward(
    start: Progress, last: int, events: Iterable[Item], required: frozenset[str]
) -> list[RunStep]:
    """Steps for the events right after version `last`, stopping at the first gap."""
    steps: list[RunStep] = []
    progress = start
    for event in events:
        version = int(event["version"])
        if version <= last:
            continue
        if version != last + 1:
            break
        progress = progress.moved(event, required)
        steps.append(RunStep(event, progress))
        last = version
    return steps


def _replay(run: Item, events: Sequence[Item], required: frozenset[str]) -> list[RunStep]:
    """Steps for `events` (a consistent read after `run` was read): the run's counters are
    the progress at its version; earlier events are folded backwards, later ones forwards."""
    anchor, at = Progress.of_run(run), int(run["version"])
    ordered = sorted(events, key=lambda e: int(e["version"]))
    older = [e for e in ordered if int(e["version"]) <= at]
    steps: list[RunStep] = []
    progress = anchor
    for event in reversed(older):
        steps.append(RunStep(event, progress))
        progress = progress.moved(event, required, sign=-1)
    steps.reverse()
    return steps + _forward(anchor, at, ordered, required)


class RunSequencer(Sequencer):
    """Per process and run: contiguous steps from the channel, gaps filled from DynamoDB."""

    def __init__(self, resources: Resources, org_id: str, run_id: str) -> None:
        self._resources = resources
        self._org_id = org_id
        self._run_id = run_id
        self._last: int | None = None
        self._progress = Progress(0, 0, 0, 0)
        self._required: frozenset[str] = frozenset()

    def _ctx(self) -> Context:
        return Context(resources=self._resources)

    async def start(self) -> None:
        if self._last is not None:
            return  # re-subscribed: the resync delivery that follows fills the gap
        ctx = self._ctx()
        run = await runs.require_run_consistent(ctx, self._org_id, self._run_id)
        self._required = await _required_items(ctx, run)
        self._last, self._progress = int(run["version"]), Progress.of_run(run)

    async def __call__(self, delivery: Delivery) -> Sequence[Delivery]:
        if self._last is None:
            return ()
        if delivery.resync:
            return await self._fill()
        event = delivery.data
        version = event.get("version") if isinstance(event, dict) else None
        if not isinstance(version, int) or version <= self._last:
            return ()
        if version == self._last + 1:
            return self._emit(delivery.channel, [event])
        return await self._fill()

    async def _fill(self) -> Sequence[Delivery]:
        assert self._last is not None
        events = await runs.list_events(self._ctx(), self._org_id, self._run_id, self._last)
        channel = channels.run(self._org_id, self._run_id)
        return self._emit(channel, events)

    def _emit(self, channel: str, events: Sequence[Item]) -> list[Delivery]:
        assert self._last is not None
        steps = _forward(self._progress, self._last, events, self._required)
        if steps:
            self._last, self._progress = steps[-1].version, steps[-1].progress
        return [Delivery(channel, step) for step in steps]


def _update(run_gid: str, step: RunStep) -> RunUpdate:
    """The payload of a step: one object for every local subscriber of the step, so that it
    is executed and encoded once per distinct selection (an event is the same for everyone
    who may see the run: nothing in it depends on the subscriber)."""
    if step.update is None:
        step.update = RunUpdate(
            run_id=strawberry.ID(run_gid),
            version=step.version,
            event=RunEvent.from_item(step.event),
            snapshot=None,
            progress=step.progress.to_type(),
            shared=SharedResults(),
        )
    return step.update


async def run_updates(
    ctx: Context, org_id: str, run_id: str, after_version: int | None
) -> AsyncGenerator[RunUpdate, None]:
    channel = channels.run(org_id, run_id)
    run_gid = to_global_id("Run", org_id, run_id)
    resources = ctx.resources

    def sequencer() -> Sequencer:
        return RunSequencer(resources, org_id, run_id)

    if after_version is not None and after_version < 0:
        raise bad_input("afterVersion must be 0 or more", argument="afterVersion")
    express = Express.current()
    async with open_stream(
        ctx, [channel], org_id=org_id, sequencers={channel: sequencer}
    ) as stream:
        await stream.check_access("Run")
        run = await runs.require_run_consistent(ctx, org_id, run_id)
        required = await _required_items(ctx, run)
        version = int(run["version"])
        if after_version is None:
            last, progress = version, Progress.of_run(run)
            yield RunUpdate(
                run_id=strawberry.ID(run_gid),
                version=version,
                event=None,
                snapshot=Run.from_item(run),
                progress=progress.to_type(),
            )
        else:
            if after_version > version:
                raise bad_input(
                    f"afterVersion is ahead of the run (version {version})",
                    argument="afterVersion",
                    currentVersion=version,
                )
            last, progress = after_version, Progress.of_run(run)
            replay = _replay(
                run, await runs.list_events(ctx, org_id, run_id, after_version), required
            )
            replay.reverse()
            while replay:
                # Popped as sent: an idle subscription keeps nothing of a long replay.
                step = replay.pop()
                if step.version > last:
                    update = _update(run_gid, step)
                    if express is None or not await express.send(update):
                        yield update
                    last, progress = step.version, step.progress
        del run
        while True:
            try:
                delivery = await stream.next()
            except StreamClosed:
                return
            steps: list[RunStep]
            step = delivery.data
            if not delivery.resync and isinstance(step, RunStep) and step.version <= last + 1:
                steps = [step]
            else:
                # A gap this subscriber cannot fill from the feed: read it.
                events = await runs.list_events(ctx, org_id, run_id, last)
                steps = _forward(progress, last, events, required)
                del events
            steps.reverse()
            while steps:
                step = steps.pop()
                if step.version == last + 1:
                    update = _update(run_gid, step)
                    if express is None or not await express.send(update):
                        yield update
                    last, progress = step.version, step.progress
            del step, delivery

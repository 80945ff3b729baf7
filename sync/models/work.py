"""Work items of a fanned-out run: the stages it splits into and what each item did.

A full sync split over the work queue runs in *stages*, one per mapping and side it reads, in
dependency order. A stage is split into *items* (pages of record ids); the run is finished
when every stage's items have a result. Results are keyed by item id, so an item delivered
twice is counted once.
"""

from __future__ import annotations

from pydantic import Field

from sync.models.base import FrozenModel
from sync.models.run import RunCounters


class StageSplit(FrozenModel):
    """One stage of a run: who started it, and (once listed) the items it was split into.

    Attributes:
        stage: The stage's position, from 0.
        owner: Who claimed the stage (the queue message that enqueued its listing).
        item_ids: The items to wait for; None until the stage's records were listed.
        note: Why the stage did less than asked (for example: the mapping was running).
    """

    stage: int = Field(ge=0)
    owner: str = Field(min_length=1)
    item_ids: tuple[str, ...] | None = None
    note: str | None = None


class WorkResult(FrozenModel):
    """What one work item did; saved once per item id (a redelivery replaces, never adds)."""

    item_id: str = Field(min_length=1)
    stage: int = Field(ge=0)
    counters: RunCounters = RunCounters()


class RunProgress(FrozenModel):
    """Every stage and item result of one run, as read together."""

    stages: tuple[StageSplit, ...] = ()
    results: tuple[WorkResult, ...] = ()

    def stage(self, number: int) -> StageSplit | None:
        """The stage at ``number``, or None when nobody claimed it yet."""
        return next((s for s in self.stages if s.stage == number), None)

    def is_stage_done(self, number: int) -> bool:
        """True when the stage was listed and every one of its items has a result."""
        split = self.stage(number)
        if split is None or split.item_ids is None:
            return False
        done = {r.item_id for r in self.results if r.stage == number}
        return set(split.item_ids) <= done

    def counted_results(self) -> list[WorkResult]:
        """Results of the items the stages wait for (strays of a superseded listing left out)."""
        expected = {i for s in self.stages for i in (s.item_ids or ())}
        return [r for r in self.results if r.item_id in expected]


WORK_QUEUE = "sync-work"
"""The queue long operations go through; ``<name>-poison`` receives what failed too often."""

MAX_MESSAGE_CHARS = 48 * 1024
"""Storage queue messages hold 64 KiB; base64 makes text a third longer."""

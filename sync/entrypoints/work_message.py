"""Messages on the work queue: what the queue-triggered function is asked to do.

Three kinds, told apart by ``kind``::

    {"kind": "run", "runId": "4be0...", "company": "5d1c...", "mode": "mapping",
     "mappings": ["CUSTOMER"]}
    {"kind": "split", "runId": "...", "company": "...", "stage": 0, "stages": [...]}
    {"kind": "page", "runId": "...", "company": "...", "stage": 2, "stages": [...],
     "itemId": "02-9f86d081884c7d65", "ids": ["2a1f...", "..."]}

``run`` is a whole incremental run (one mapping, or all modified). A full sync is fanned out:
``split`` lists the records of one stage (a mapping and the side it reads) and enqueues one
``page`` per page of ids; each message carries the whole stage plan, so whoever finishes a
stage knows what comes next without reading the configuration again.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.alias_generators import to_camel

from sync.models import RunMode, Side


class _Message(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, validate_by_name=True
    )

    def to_text(self) -> str:
        """The message as queue text (JSON with camelCase keys)."""
        return self.model_dump_json(by_alias=True, exclude_none=True)


class Stage(_Message):
    """One step of a full sync: read one side of one mapping.

    ``whole`` stages are not split into pages: match-based coupling must see every uncoupled
    record of the other side at once to pair records safely.
    """

    mapping: str
    side: Side
    whole: bool = False


class RunWork(_Message):
    """Run an incremental sync (``mapping`` or ``modified``) as run ``run_id``."""

    kind: Literal["run"] = "run"
    run_id: str
    company: str
    mode: RunMode
    mappings: tuple[str, ...] | None = None


class _StagedWork(_Message):
    run_id: str
    company: str
    stage: int = Field(ge=0)
    stages: tuple[Stage, ...] = Field(min_length=1)

    @property
    def current(self) -> Stage:
        """The stage this message works on."""
        return self.stages[self.stage]


class SplitWork(_StagedWork):
    """List the records of one stage and enqueue a page of ids per work item."""

    kind: Literal["split"] = "split"


class PageWork(_StagedWork):
    """Sync these ids of the stage's mapping and side."""

    kind: Literal["page"] = "page"
    item_id: str
    ids: tuple[str, ...] = Field(min_length=1)


WorkMessage = Annotated[RunWork | SplitWork | PageWork, Field(discriminator="kind")]
_MESSAGE: TypeAdapter[RunWork | SplitWork | PageWork] = TypeAdapter(WorkMessage)


def parse_work(text: str) -> RunWork | SplitWork | PageWork:
    """Read a queue message.

    Raises:
        pydantic.ValidationError: The text is not a work message.
    """
    return _MESSAGE.validate_json(text)


def item_id(stage: int, ids: tuple[str, ...]) -> str:
    """A work item's id, derived from its content: the same page of ids gets the same id."""
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
    return f"{stage:02d}-{digest}"

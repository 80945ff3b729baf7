"""Runs: one execution over one or more mappings, its counters and its per-record errors."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from sync.models.base import AwareDatetime, FrozenModel
from sync.models.side import Side


class RunMode(StrEnum):
    """What a run was asked to do."""

    RECORD = "record"
    MAPPING = "mapping"
    MODIFIED = "modified"
    FULL = "full"
    MATCH = "match"
    COUPLE = "couple"
    UNCOUPLE = "uncouple"


class RunStatus(StrEnum):
    """Where a run stands; ``partial`` = finished with per-record errors or a checkpoint."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"


class ErrorClass(StrEnum):
    """Transient errors are retried on later runs; permanent ones count towards skipping."""

    TRANSIENT = "transient"
    PERMANENT = "permanent"


class RunCounters(FrozenModel):
    """What a run did, per outcome (BC's Integration Synch. Job counters, plus ours)."""

    inserted: int = Field(default=0, ge=0)
    modified: int = Field(default=0, ge=0)
    deleted: int = Field(default=0, ge=0)
    unchanged: int = Field(default=0, ge=0)
    skipped: int = Field(default=0, ge=0)
    failed: int = Field(default=0, ge=0)
    coupled: int = Field(default=0, ge=0)
    uncoupled: int = Field(default=0, ge=0)
    conflicts: int = Field(default=0, ge=0)

    def __add__(self, other: RunCounters) -> RunCounters:
        return RunCounters(
            **{
                name: getattr(self, name) + getattr(other, name)
                for name in RunCounters.model_fields
            }
        )


class Run(FrozenModel):
    """One execution; ``id`` is unique, ``scope`` ties it to a BC company."""

    id: str = Field(min_length=1)
    scope: str = Field(min_length=1)
    mode: RunMode
    mappings: tuple[str, ...] = ()
    dry_run: bool = False
    status: RunStatus = RunStatus.RUNNING
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    counters: RunCounters = RunCounters()
    message: str | None = None


class RecordError(FrozenModel):
    """Why one record did not sync in one run."""

    run_id: str = Field(min_length=1)
    mapping: str = Field(min_length=1)
    side: Side
    record_id: str = Field(min_length=1)
    error_class: ErrorClass
    code: str = ""
    message: str = Field(min_length=1)
    attempt: int = Field(default=1, ge=1)
    occurred_at: AwareDatetime

"""Answer bodies of the HTTP API (camelCase JSON); the OpenAPI document is built from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from sync.engine.operation import Operation
from sync.entrypoints.bindings import timer_name
from sync.models import Coupling, RecordError, Run, RunCounters, TableMapping


class _View(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, frozen=True)

    def to_json(self) -> dict[str, Any]:
        """The view as JSON-ready data with camelCase keys."""
        return self.model_dump(mode="json", by_alias=True)


class CountersView(_View):
    """What a run did, per outcome."""

    inserted: int = 0
    modified: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    coupled: int = 0
    uncoupled: int = 0
    conflicts: int = 0


class RunView(_View):
    """One run: what it was asked to do, where it stands, and its counters."""

    id: str
    company: str
    mode: str = Field(description="record, mapping, modified, full, match, couple or uncouple")
    mappings: list[str]
    dry_run: bool
    status: str = Field(description="running, succeeded, partial or failed")
    started_at: datetime
    finished_at: datetime | None = None
    counters: CountersView
    message: str | None = None

    @classmethod
    def of(cls, run: Run) -> RunView:
        """The view of a run."""
        return cls(
            id=run.id,
            company=company_of(run.scope),
            mode=run.mode.value,
            mappings=list(run.mappings),
            dry_run=run.dry_run,
            status=run.status.value,
            started_at=run.started_at,
            finished_at=run.finished_at,
            counters=CountersView(**run.counters.model_dump()),
            message=run.message,
        )


class AcceptedView(_View):
    """The answer to a long operation: poll ``statusUrl`` (also in ``Location``)."""

    run_id: str
    status: str = "running"
    status_url: str = Field(description="signed link to poll; works without the function key")
    run: RunView


class RunListView(_View):
    """Runs, newest first."""

    runs: list[RunView]


class RecordErrorView(_View):
    """Why one record did not sync in one run."""

    mapping: str
    side: str
    record_id: str
    error_class: str = Field(description="transient (retried later) or permanent")
    code: str
    message: str
    attempt: int
    occurred_at: datetime

    @classmethod
    def of(cls, error: RecordError) -> RecordErrorView:
        """The view of a per-record error."""
        return cls(**error.model_dump(exclude={"run_id"}))


class RunErrorsView(_View):
    """The per-record errors of one run."""

    run_id: str
    errors: list[RecordErrorView]


class PlanView(_View):
    """What a dry run would do; ``operations`` lists at most ``SYNC_API__PLAN_LIMIT`` steps."""

    total: int
    by_kind: dict[str, int]
    truncated: bool
    operations: list[dict[str, Any]] = Field(
        description="each step: kind, mapping, source, ids, writes, changed fields, reason"
    )

    @classmethod
    def of(cls, operations: list[Operation], limit: int) -> PlanView:
        """The view of a plan, cut at ``limit`` operations."""
        by_kind: dict[str, int] = {}
        for operation in operations:
            by_kind[operation.kind.value] = by_kind.get(operation.kind.value, 0) + 1
        return cls(
            total=len(operations),
            by_kind=by_kind,
            truncated=len(operations) > limit,
            operations=[op.model_dump(mode="json") for op in operations[:limit]],
        )


class RunResultView(_View):
    """A finished short operation (or a dry run): the run, its errors, and the plan."""

    run: RunView
    errors: list[RecordErrorView] = []
    plan: PlanView | None = None


class CouplingView(_View):
    """The link of a BC record and a Dataverse row in one mapping."""

    mapping: str
    bc_id: str
    dataverse_id: str
    last_result: str
    last_synced_at: datetime | None = None
    failure_count: int
    skipped: bool
    last_error: str | None = None

    @classmethod
    def of(cls, coupling: Coupling) -> CouplingView:
        """The view of a coupling (without its base values)."""
        return cls(
            **coupling.model_dump(
                include={
                    "mapping",
                    "bc_id",
                    "dataverse_id",
                    "last_synced_at",
                    "failure_count",
                    "skipped",
                    "last_error",
                }
            ),
            last_result=coupling.last_result.value,
        )


class CouplingListView(_View):
    """Couplings."""

    couplings: list[CouplingView]


class MappingSummaryView(_View):
    """One mapping in a list: what it pairs, and its timer."""

    name: str
    bc_entity: str
    dataverse_table: str
    direction: str
    enabled: bool
    is_option: bool
    depends_on: list[str]
    match_fields: list[str] = Field(description="BC fields used for match-based coupling")
    timer_function: str = Field(description="the timer function of the standard set, if any")

    @classmethod
    def of(cls, mapping: TableMapping) -> MappingSummaryView:
        """The summary of a mapping."""
        return cls(
            name=mapping.name,
            bc_entity=mapping.bc_entity,
            dataverse_table=mapping.dataverse_table,
            direction=mapping.direction.value,
            enabled=mapping.enabled,
            is_option=mapping.is_option,
            depends_on=list(mapping.depends_on),
            match_fields=[f.bc_field for f in mapping.fields if f.match is not None and f.bc_field],
            timer_function=timer_name(mapping.name),
        )


class MappingListView(_View):
    """The mappings of a company, in run order; ``customized`` when they differ from defaults."""

    customized: bool
    mappings: list[MappingSummaryView]


class ErrorDetailView(_View):
    """What went wrong: a stable code, a message for people, and specifics."""

    code: str
    message: str
    details: list[dict[str, Any]]


class ErrorView(_View):
    """Every error answer."""

    error: ErrorDetailView


class CheckView(_View):
    """One dependency's reachability."""

    status: str = Field(description="ok, failed or not_configured")
    message: str | None = None


class HealthView(_View):
    """The app's health: ``ok`` when the store and both services answer."""

    status: str = Field(description="ok or degraded")
    version: str
    checks: dict[str, CheckView]


def company_of(scope: str) -> str:
    """The BC company id of a scope key (``tenant:environment:company``)."""
    return scope.rsplit(":", 1)[-1]


def counters_view(counters: RunCounters) -> CountersView:
    """The view of run counters."""
    return CountersView(**counters.model_dump())

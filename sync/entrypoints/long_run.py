"""Long operations: accepted at once with ``202``, done by the queue trigger, polled by link.

``start_long_run`` reserves the mappings (their leases, held under the new run's id, so a timer
skips them until the worker takes over), saves the run as ``running``, enqueues the work and
answers::

    HTTP/1.1 202 Accepted
    Location: https://<app>/api/runs/4be0.../status?company=...&exp=...&sig=...
    Retry-After: 10
    {"runId": "4be0...", "status": "running", "statusUrl": "...", "run": {...}}

Power Automate's HTTP action and custom connector actions follow ``Location`` by themselves
until the status answers 200. A dry run is planned right away instead and answered with the
plan, within ``SYNC_API__DRY_RUN_SECONDS``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime

from sync.engine.run_parts import RunnerParts, RunResult
from sync.entrypoints.api_call import ApiAnswer, ApiCall
from sync.entrypoints.api_error import ApiError
from sync.entrypoints.api_views import (
    AcceptedView,
    PlanView,
    RecordErrorView,
    RunResultView,
    RunView,
)
from sync.entrypoints.dependencies import Dependencies
from sync.entrypoints.work_message import RunWork, SplitWork, Stage
from sync.errors import SyncError
from sync.models import Direction, Lease, Run, RunMode, RunStatus, Side, TableMapping


async def start_long_run(
    call: ApiCall, mode: RunMode, mappings: Sequence[TableMapping] | None
) -> ApiAnswer:
    """Accept a mapping sync (one mapping), all-modified sync (None) or full sync.

    Raises:
        ApiError: 409 when a named mapping is running.
    """
    dependencies = await call.dependencies()
    company = await call.company()
    parts = dependencies.runner(company).parts
    run_id = call.run_id = uuid.uuid4().hex
    leases = await _reserve(parts, run_id, mappings or ())
    names = tuple(m.name for m in mappings) if mappings is not None else ()
    run = Run(id=run_id, scope=parts.scope.key, mode=mode, mappings=names, started_at=_now(parts))
    await parts.stores.runs.save_run(run)
    try:
        message = await _message(dependencies, parts, run, company, mappings)
        await dependencies.work_queue.send_work([message])
    except SyncError:
        failed = {"status": RunStatus.FAILED, "finished_at": _now(parts), "message": "not queued"}
        await parts.stores.runs.save_run(run.model_copy(update=failed))
        for lease in leases:
            await parts.stores.leases.release_lease(lease)
        raise
    link = dependencies.status_links.link(await call.base_url(), run_id, company)
    accepted = AcceptedView(run_id=run_id, status_url=link, run=RunView.of(run))
    retry_after = str(dependencies.api.retry_after_seconds)
    return ApiAnswer(202, accepted.to_json(), {"Location": link, "Retry-After": retry_after})


async def plan_run(call: ApiCall, mode: RunMode, names: Sequence[str] | None) -> ApiAnswer:
    """Answer a dry run with its plan (200), computed within the dry-run time limit.

    Raises:
        ApiError: 422 when planning takes longer than ``SYNC_API__DRY_RUN_SECONDS``.
    """
    dependencies = await call.dependencies()
    runner = dependencies.runner(await call.company())
    limit = dependencies.api.dry_run_seconds
    try:
        async with asyncio.timeout(limit):
            result = await runner.run(mode, mappings=names, dry_run=True)
    except TimeoutError:
        raise ApiError(
            422,
            "dry_run_too_large",
            f"The plan takes longer than {limit} s to compute; dry-run fewer mappings or one "
            "record.",
        ) from None
    return result_answer(result, dependencies, status=200)


def result_answer(result: RunResult, dependencies: Dependencies, *, status: int) -> ApiAnswer:
    """The answer of a finished short run: the run, its errors, and its plan if a dry run."""
    plan = PlanView.of(result.plan, dependencies.api.plan_limit) if result.run.dry_run else None
    view = RunResultView(
        run=RunView.of(result.run),
        errors=[RecordErrorView.of(e) for e in result.errors],
        plan=plan,
    )
    return ApiAnswer(200 if result.run.dry_run else status, view.to_json())


def full_sync_stages(ordered: Sequence[TableMapping]) -> tuple[Stage, ...]:
    """The stages of a full sync: each mapping's BC side, then its Dataverse side.

    A stage is split into parallel page items unless it matches records (match-based coupling
    pairs against the whole other side) or reads Dataverse (it creates BC records, which stay
    crash-safe only with a single writer); those run as one item.
    """
    stages = []
    for mapping in ordered:
        matches = any(f.enabled and f.match is not None for f in mapping.fields)
        if mapping.direction.includes(Direction.TO_DATAVERSE):
            stages.append(Stage(mapping=mapping.name, side=Side.BC, whole=matches))
        if mapping.direction.includes(Direction.FROM_DATAVERSE):
            stages.append(Stage(mapping=mapping.name, side=Side.DATAVERSE, whole=True))
    return tuple(stages)


async def _message(
    dependencies: Dependencies,
    parts: RunnerParts,
    run: Run,
    company: str,
    mappings: Sequence[TableMapping] | None,
) -> str:
    if run.mode is not RunMode.FULL or mappings is None:
        names = run.mappings or None
        return RunWork(run_id=run.id, company=company, mode=run.mode, mappings=names).to_text()
    await dependencies.ledger.claim_stage(parts.scope.key, run.id, 0, run.id)
    stages = full_sync_stages(mappings)
    return SplitWork(run_id=run.id, company=company, stage=0, stages=stages).to_text()


async def _reserve(
    parts: RunnerParts, run_id: str, mappings: Sequence[TableMapping]
) -> list[Lease]:
    taken: list[Lease] = []
    for mapping in mappings:
        name = f"{parts.scope.key}|{mapping.name}"
        lease = await parts.stores.leases.acquire_lease(name, run_id, parts.options.lease)
        if lease is None:
            for held in taken:
                await parts.stores.leases.release_lease(held)
            raise ApiError(
                409,
                "mapping_running",
                f"Mapping {mapping.name} is already running; try again when it finished.",
                [{"mapping": mapping.name}],
            )
        taken.append(lease)
    return taken


def _now(parts: RunnerParts) -> datetime:
    return parts.clock.now()

"""An incremental run handed over by the HTTP API: one mapping, or all modified records."""

from __future__ import annotations

import logging

from sync.entrypoints.dependencies import Dependencies
from sync.entrypoints.work_message import RunWork
from sync.models import RunStatus

log = logging.getLogger("sync").getChild("worker")


async def run_incremental(dependencies: Dependencies, work: RunWork) -> None:
    """Run the sync as run ``work.run_id``; a run that already finished is not run again."""
    runner = dependencies.runner(work.company, run_id=work.run_id)
    runs, scope = runner.parts.stores.runs, runner.parts.scope.key
    existing = await runs.get_run(scope, work.run_id)
    if existing is not None and existing.status is not RunStatus.RUNNING:
        log.info("run finished already run_id=%s status=%s", work.run_id, existing.status)
        return
    try:
        result = await runner.run(work.mode, mappings=work.mappings)
    except KeyError as exc:
        await fail_run(dependencies, work, f"mapping {exc.args[0]} no longer exists")
        return
    log.info(
        "run done run_id=%s status=%s counters=%s",
        work.run_id,
        result.run.status,
        result.run.counters.model_dump(),
    )


async def fail_run(dependencies: Dependencies, work: RunWork, reason: str) -> None:
    """Close a run that could not be done, saying why (its record stays for polling)."""
    parts = dependencies.runner(work.company).parts
    run = await parts.stores.runs.get_run(parts.scope.key, work.run_id)
    if run is None or run.status is not RunStatus.RUNNING:
        return
    update = {"status": RunStatus.FAILED, "finished_at": parts.clock.now(), "message": reason}
    await parts.stores.runs.save_run(run.model_copy(update=update))
    log.warning("run failed run_id=%s reason=%s", work.run_id, reason)

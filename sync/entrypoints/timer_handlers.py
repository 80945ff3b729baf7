"""What the timers do: an incremental sync of one mapping per company, and the key purge.

``timers`` registers the timer functions and hands each invocation to this module, which it
imports on the first tick: the engine behind it is not loaded at cold start.
"""

from __future__ import annotations

import logging
import uuid

from sync.entrypoints.dependencies import Dependencies, get_dependencies
from sync.errors import SyncError
from sync.mappings.configuration import load_configuration
from sync.models import RunMode, TableMapping

log = logging.getLogger("sync").getChild("timer")


async def sync_mapping_on_schedule(mapping: str) -> None:
    """Run one mapping's incremental sync for every company, skipping what cannot run."""
    dependencies = await get_dependencies()
    for company in dependencies.companies:
        try:
            await _sync_company(dependencies, company, mapping)
        except SyncError:
            # One company's failure must not keep the others from syncing.
            log.exception("scheduled sync failed mapping=%s company=%s", mapping, company)


async def purge_expired_keys() -> None:
    """Delete Idempotency-Keys past their time (a replay after that does the work again)."""
    purged = await (await get_dependencies()).idempotency.purge_expired()
    log.info("expired idempotency keys purged count=%s", purged)


async def _sync_company(dependencies: Dependencies, company: str, mapping: str) -> None:
    run_id = uuid.uuid4().hex
    parts = dependencies.runner(company).parts
    configuration = await load_configuration(parts.stores.mappings, parts.scope.key)
    table = next((m for m in configuration.mappings if m.name == mapping), None)
    reason = _skip_reason(table)
    lease = None
    if reason is None:
        # Taking the lease first tells "already running" apart without recording a failed run;
        # the runner takes it again under the same owner and releases it when done.
        name = f"{parts.scope.key}|{mapping}"
        lease = await parts.stores.leases.acquire_lease(name, run_id, parts.options.lease)
        reason = "already running" if lease is None else None
    if lease is None:
        log.info("scheduled sync skipped mapping=%s company=%s reason=%s", mapping, company, reason)
        return
    try:
        runner = dependencies.runner(company, run_id=run_id)
        result = await runner.run(RunMode.MAPPING, mappings=[mapping])
    finally:
        await parts.stores.leases.release_lease(lease)  # a no-op once the runner released it
    log.info(
        "scheduled sync done mapping=%s company=%s run_id=%s status=%s counters=%s",
        mapping,
        company,
        run_id,
        result.run.status,
        result.run.counters.model_dump(),
    )


def _skip_reason(table: TableMapping | None) -> str | None:
    if table is None:
        return "not in the company's mappings"
    if not table.enabled:
        return "disabled"
    if table.is_option:
        return "option mapping: no record sync in this release"
    return None

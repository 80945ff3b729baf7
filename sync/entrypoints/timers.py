"""Timers: one per mapping of the standard set, each an incremental sync of its mapping.

The function of mapping ``PAYMENT TERMS`` is ``sync_payment_terms`` and runs on the NCRONTAB
schedule in app setting ``SYNC_SCHEDULE_PAYMENT_TERMS`` (deployment sets every one to BC's
default, ``0 */30 * * * *``: every 30 minutes, in UTC). With ``use_monitor`` the host records
each occurrence, so after downtime one late invocation (``past_due``) runs instead of one per
missed occurrence. Each invocation syncs the mapping for every configured company; a mapping
that is disabled, an option mapping, or one already running is skipped with a log line.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

import azure.functions as func

from sync.entrypoints.dependencies import Dependencies, get_dependencies
from sync.errors import SyncError
from sync.mappings import standard_mappings
from sync.mappings.configuration import load_configuration
from sync.models import RunMode, TableMapping

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves __init__ unannotated
log = logging.getLogger("sync").getChild("timer")

DEFAULT_SCHEDULE = "0 */30 * * * *"
PURGE_SCHEDULE = "0 15 3 * * *"
"""When expired Idempotency-Keys are deleted: daily at 03:15 UTC (fixed, so no setting)."""
"""What deployment sets every ``SYNC_SCHEDULE_<MAPPING>`` to: BC's default of every 30 minutes."""

TimerFunction = Callable[[func.TimerRequest], Awaitable[None]]


def timer_name(mapping: str) -> str:
    """The timer function of a mapping: ``PAYMENT TERMS`` -> ``sync_payment_terms``."""
    return "sync_" + "".join(c if c.isalnum() else "_" for c in mapping.lower())


def schedule_setting(mapping: str) -> str:
    """The setting of a mapping's schedule: ``PAYMENT TERMS`` -> ``SYNC_SCHEDULE_PAYMENT_TERMS``."""
    return "SYNC_SCHEDULE_" + timer_name(mapping).removeprefix("sync_").upper()


async def sync_mapping_on_schedule(dependencies: Dependencies, mapping: str) -> None:
    """Run one mapping's incremental sync for every company, skipping what cannot run."""
    for company in dependencies.companies:
        try:
            await _sync_company(dependencies, company, mapping)
        except SyncError:
            # One company's failure must not keep the others from syncing.
            log.exception("scheduled sync failed mapping=%s company=%s", mapping, company)


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


@blueprint.function_name("purge_expired_keys")
@blueprint.timer_trigger(
    arg_name="timer", schedule=PURGE_SCHEDULE, run_on_startup=False, use_monitor=True
)
async def purge_expired_keys(timer: func.TimerRequest) -> None:  # noqa: ARG001 - bound by the host
    """Delete Idempotency-Keys past their time (a replay after that does the work again)."""
    purged = await (await get_dependencies()).idempotency.purge_expired()
    log.info("expired idempotency keys purged count=%s", purged)


def _timer(mapping: str) -> TimerFunction:
    async def run(timer: func.TimerRequest) -> None:
        if timer.past_due:
            log.info("timer past due; running once mapping=%s", mapping)
        await sync_mapping_on_schedule(await get_dependencies(), mapping)

    # The function name is the def name (STYLE): give the closure the timer's name.
    run.__name__ = run.__qualname__ = timer_name(mapping)
    run.__doc__ = f"Incremental sync of {mapping} on schedule %{schedule_setting(mapping)}%."
    return run


def _register(mapping: str) -> None:
    function = _timer(mapping)
    blueprint.function_name(function.__name__)(
        blueprint.timer_trigger(
            arg_name="timer",
            schedule=f"%{schedule_setting(mapping)}%",
            run_on_startup=False,
            use_monitor=True,
        )(function)
    )


# The standard set is code, not configuration: listing it reads no setting, file or network.
for _mapping in standard_mappings().mappings:
    _register(_mapping.name)

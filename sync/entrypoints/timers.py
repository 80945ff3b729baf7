"""Timers: one per mapping of the standard set, each an incremental sync of its mapping.

The function of mapping ``PAYMENT TERMS`` is ``sync_payment_terms`` and runs on the NCRONTAB
schedule in app setting ``SYNC_SCHEDULE_PAYMENT_TERMS`` (deployment sets every one to BC's
default, ``0 */30 * * * *``: every 30 minutes, in UTC). With ``use_monitor`` the host records
each occurrence, so after downtime one late invocation (``past_due``) runs instead of one per
missed occurrence. Each invocation syncs the mapping for every configured company; a mapping
that is disabled, an option mapping, or one already running is skipped with a log line.

This module only registers the timers; ``timer_handlers`` does the work (see ``bindings``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import azure.functions as func

from sync.entrypoints.bindings import (
    PURGE_SCHEDULE,
    STANDARD_MAPPING_NAMES,
    schedule_setting,
    timer_name,
)

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves __init__ unannotated
log = logging.getLogger("sync").getChild("timer")

TimerFunction = Callable[[func.TimerRequest], Awaitable[None]]


@blueprint.function_name("purge_expired_keys")
@blueprint.timer_trigger(
    arg_name="timer", schedule=PURGE_SCHEDULE, run_on_startup=False, use_monitor=True
)
async def purge_expired_keys(timer: func.TimerRequest) -> None:  # noqa: ARG001 - bound by the host
    """Delete Idempotency-Keys past their time (a replay after that does the work again)."""
    # Imported on the first tick: the settings and engine behind it would slow every cold start.
    from sync.entrypoints import timer_handlers  # noqa: PLC0415

    await timer_handlers.purge_expired_keys()


def _timer(mapping: str) -> TimerFunction:
    async def run(timer: func.TimerRequest) -> None:
        if timer.past_due:
            log.info("timer past due; running once mapping=%s", mapping)
        from sync.entrypoints import timer_handlers  # noqa: PLC0415

        await timer_handlers.sync_mapping_on_schedule(mapping)

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


# The names are constants (a test keeps them equal to the standard set's): building the
# standard set itself would load pydantic and the models at import.
for _mapping in STANDARD_MAPPING_NAMES:
    _register(_mapping)

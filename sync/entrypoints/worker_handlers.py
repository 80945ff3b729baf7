"""What the queue triggers do: read a work message, then do it or record that it failed.

``worker`` registers the triggers and hands each message here; this module is imported on the
first message, so the models and engine behind it are not loaded at cold start.
"""

from __future__ import annotations

import logging

import azure.functions as func
from pydantic import ValidationError

from sync.entrypoints.dependencies import Dependencies, get_dependencies
from sync.entrypoints.fan_out import give_up_page, give_up_split, split_stage, sync_page
from sync.entrypoints.incremental_run import fail_run, run_incremental
from sync.entrypoints.work_message import PageWork, RunWork, SplitWork, parse_work

log = logging.getLogger("sync").getChild("worker")

Work = RunWork | SplitWork | PageWork


async def process_work(msg: func.QueueMessage) -> None:
    """Do one piece of queued work; failing raises, so the host tries it again."""
    work = _read(msg)
    if work is not None:
        await do_work(await get_dependencies(), work, delivery=msg.id or "-")


async def process_failed_work(msg: func.QueueMessage) -> None:
    """Record work that failed every attempt on its run, so nothing is lost silently."""
    work = _read(msg)
    if work is not None:
        await give_up(await get_dependencies(), work, delivery=msg.id or "-")


async def do_work(dependencies: Dependencies, work: Work, *, delivery: str) -> None:
    """Do one work message: a whole incremental run, a stage's split, or a page."""
    log.info("work started run_id=%s kind=%s", work.run_id, work.kind)
    if isinstance(work, RunWork):
        await run_incremental(dependencies, work)
    elif isinstance(work, SplitWork):
        await split_stage(dependencies, work, delivery=delivery)
    else:
        await sync_page(dependencies, work, delivery=delivery)


async def give_up(dependencies: Dependencies, work: Work, *, delivery: str) -> None:
    """Turn work that kept failing into per-record errors (or a failed run) on its run."""
    reason = "the work failed on every delivery (see the log of process_work)"
    log.error("work given up run_id=%s kind=%s delivery=%s", work.run_id, work.kind, delivery)
    if isinstance(work, RunWork):
        await fail_run(dependencies, work, reason)
    elif isinstance(work, SplitWork):
        await give_up_split(dependencies, work, delivery=delivery, reason=reason)
    else:
        await give_up_page(dependencies, work, delivery=delivery, reason=reason)


def _read(msg: func.QueueMessage) -> Work | None:
    try:
        return parse_work(msg.get_body().decode("utf-8"))
    except (ValidationError, UnicodeDecodeError):
        # Not ours (or mangled): retrying cannot help, and it names no run to report on.
        log.error("unreadable work message dropped message_id=%s", msg.id)
        return None

"""Queue triggers: the work the HTTP API handed over, and the work that kept failing.

Messages arrive base64-decoded by the host (``messageEncoding`` base64, the default). An
exception makes the host deliver the message again, up to ``maxDequeueCount`` (host.json);
then it moves to ``sync-work-poison``, whose trigger records the failure on the run.

This module only registers the triggers; ``worker_handlers`` reads and does the work.
"""

from __future__ import annotations

import azure.functions as func

from sync.entrypoints.bindings import POISON_QUEUE, WORK_QUEUE

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves __init__ unannotated


@blueprint.function_name("process_work")
@blueprint.queue_trigger(arg_name="msg", queue_name=WORK_QUEUE, connection="AzureWebJobsStorage")
async def process_work(msg: func.QueueMessage) -> None:
    """Do one piece of queued work; failing raises, so the host tries it again."""
    # Imported on the first message: the models and engine behind it would slow every cold start.
    from sync.entrypoints import worker_handlers  # noqa: PLC0415

    await worker_handlers.process_work(msg)


@blueprint.function_name("process_failed_work")
@blueprint.queue_trigger(arg_name="msg", queue_name=POISON_QUEUE, connection="AzureWebJobsStorage")
async def process_failed_work(msg: func.QueueMessage) -> None:
    """Record work that failed every attempt on its run, so nothing is lost silently."""
    from sync.entrypoints import worker_handlers  # noqa: PLC0415

    await worker_handlers.process_failed_work(msg)

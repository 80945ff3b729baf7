"""HTTP routes of run history: runs, one run, its per-record errors, and the signed status.

This module only registers the routes; ``runs_handlers`` answers them.
"""

from __future__ import annotations

import azure.functions as func

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves __init__ unannotated


@blueprint.function_name("list_runs")
@blueprint.route(route="runs", methods=["GET"])
async def list_runs(req: func.HttpRequest) -> func.HttpResponse:
    """The latest runs of a company, newest first (``?limit=``, 50 by default)."""
    # Imported on the first call: pydantic, the settings and the engine behind the
    # handlers would slow every cold start.
    from sync.entrypoints import api_handler, runs_handlers  # noqa: PLC0415

    return await api_handler.handle(req, runs_handlers.list_runs)


@blueprint.function_name("get_run")
@blueprint.route(route="runs/{id}", methods=["GET"])
async def get_run(req: func.HttpRequest) -> func.HttpResponse:
    """One run with its counters."""
    from sync.entrypoints import api_handler, runs_handlers  # noqa: PLC0415

    return await api_handler.handle(req, runs_handlers.get_run)


@blueprint.function_name("list_run_errors")
@blueprint.route(route="runs/{id}/errors", methods=["GET"])
async def list_run_errors(req: func.HttpRequest) -> func.HttpResponse:
    """The per-record errors of one run."""
    from sync.entrypoints import api_handler, runs_handlers  # noqa: PLC0415

    return await api_handler.handle(req, runs_handlers.list_run_errors)


@blueprint.function_name("get_run_status")
@blueprint.route(route="runs/{id}/status", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def get_run_status(req: func.HttpRequest) -> func.HttpResponse:
    """Poll a long operation through its signed link: 202 while running, then 200."""
    from sync.entrypoints import api_handler, runs_handlers  # noqa: PLC0415

    return await api_handler.handle(req, runs_handlers.get_run_status)

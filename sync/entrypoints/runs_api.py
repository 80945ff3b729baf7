"""HTTP routes of run history: runs, one run, its per-record errors, and the signed status."""

from __future__ import annotations

import azure.functions as func

from sync.entrypoints.api_call import ApiAnswer, ApiCall
from sync.entrypoints.api_error import ApiError
from sync.entrypoints.api_handler import handle
from sync.entrypoints.api_views import RecordErrorView, RunErrorsView, RunListView, RunView
from sync.models import Run, RunStatus

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves __init__ unannotated

MAX_RUNS = 200


@blueprint.function_name("list_runs")
@blueprint.route(route="runs", methods=["GET"])
async def list_runs(req: func.HttpRequest) -> func.HttpResponse:
    """The latest runs of a company, newest first (``?limit=``, 50 by default)."""
    return await handle(req, _list_runs)


@blueprint.function_name("get_run")
@blueprint.route(route="runs/{id}", methods=["GET"])
async def get_run(req: func.HttpRequest) -> func.HttpResponse:
    """One run with its counters."""
    return await handle(req, _get_run)


@blueprint.function_name("list_run_errors")
@blueprint.route(route="runs/{id}/errors", methods=["GET"])
async def list_run_errors(req: func.HttpRequest) -> func.HttpResponse:
    """The per-record errors of one run."""
    return await handle(req, _list_run_errors)


@blueprint.function_name("get_run_status")
@blueprint.route(route="runs/{id}/status", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def get_run_status(req: func.HttpRequest) -> func.HttpResponse:
    """Poll a long operation through its signed link: 202 while running, then 200."""
    return await handle(req, _get_run_status)


async def _list_runs(call: ApiCall) -> ApiAnswer:
    raw = call.req.params.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_RUNS:
        raise ApiError(400, "invalid_query", f"limit must be 1-{MAX_RUNS}", [{"field": "limit"}])
    runs = (await call.dependencies()).engine.store.runs
    found = await runs.list_runs(await call.scope(), limit=int(raw))
    return ApiAnswer(200, RunListView(runs=[RunView.of(r) for r in found]).to_json())


async def _get_run(call: ApiCall) -> ApiAnswer:
    run = await _find_run(call)
    return ApiAnswer(200, RunView.of(run).to_json())


async def _list_run_errors(call: ApiCall) -> ApiAnswer:
    run = await _find_run(call)
    runs = (await call.dependencies()).engine.store.runs
    errors = await runs.list_errors(run.scope, run.id)
    # A work item delivered twice may record the same failure twice; show it once.
    unique = list({(e.mapping, e.side, e.record_id, e.code, e.message): e for e in errors}.values())
    view = RunErrorsView(run_id=run.id, errors=[RecordErrorView.of(e) for e in unique])
    return ApiAnswer(200, view.to_json())


async def _get_run_status(call: ApiCall) -> ApiAnswer:
    run_id = call.id_route("id")
    company = call.req.params.get("company", "")
    dependencies = await call.dependencies()
    links = dependencies.status_links
    links.check(run_id, company, call.req.params.get("exp"), call.req.params.get("sig"))
    run = await _find_run(call)
    if run.status is not RunStatus.RUNNING:
        return ApiAnswer(200, RunView.of(run).to_json())
    # A fresh link keeps a long run pollable past the first link's expiry.
    link = links.link(await call.base_url(), run.id, await call.company())
    retry_after = str(dependencies.api.retry_after_seconds)
    headers = {"Location": link, "Retry-After": retry_after}
    return ApiAnswer(202, RunView.of(run).to_json(), headers)


async def _find_run(call: ApiCall) -> Run:
    run_id = call.id_route("id")
    runs = (await call.dependencies()).engine.store.runs
    run = await runs.get_run(await call.scope(), run_id)
    if run is None:
        raise ApiError(404, "run_not_found", f"No run {run_id} in this company.")
    return run

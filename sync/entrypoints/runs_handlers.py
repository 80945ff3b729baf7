"""The answers of the run history routes (``runs_api``): runs, one run, its errors, its status.

``runs_api`` registers the routes and imports this module on their first call, so the views,
models and settings it needs are not loaded at cold start.
"""

from __future__ import annotations

from sync.entrypoints.api_call import ApiAnswer, ApiCall
from sync.entrypoints.api_error import ApiError
from sync.entrypoints.api_views import RecordErrorView, RunErrorsView, RunListView, RunView
from sync.models import Run, RunStatus

MAX_RUNS = 200


async def list_runs(call: ApiCall) -> ApiAnswer:
    """The latest runs of a company, newest first (``?limit=``, 50 by default)."""
    raw = call.req.params.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_RUNS:
        raise ApiError(400, "invalid_query", f"limit must be 1-{MAX_RUNS}", [{"field": "limit"}])
    runs = (await call.dependencies()).engine.store.runs
    found = await runs.list_runs(await call.scope(), limit=int(raw))
    return ApiAnswer(200, RunListView(runs=[RunView.of(r) for r in found]).to_json())


async def get_run(call: ApiCall) -> ApiAnswer:
    """One run with its counters."""
    run = await _find_run(call)
    return ApiAnswer(200, RunView.of(run).to_json())


async def list_run_errors(call: ApiCall) -> ApiAnswer:
    """The per-record errors of one run."""
    run = await _find_run(call)
    runs = (await call.dependencies()).engine.store.runs
    errors = await runs.list_errors(run.scope, run.id)
    # A work item delivered twice may record the same failure twice; show it once.
    unique = list({(e.mapping, e.side, e.record_id, e.code, e.message): e for e in errors}.values())
    view = RunErrorsView(run_id=run.id, errors=[RecordErrorView.of(e) for e in unique])
    return ApiAnswer(200, view.to_json())


async def get_run_status(call: ApiCall) -> ApiAnswer:
    """Poll a long operation through its signed link: 202 while running, then 200."""
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

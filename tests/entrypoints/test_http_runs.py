from __future__ import annotations

import uuid

import pytest

from tests.entrypoints.harness import close_app, open_app
from tests.fakes.store import InMemoryRunStore, InMemoryStateStore


async def _finished_run(app) -> str:
    response = await app.call("start_modified_sync", "POST", "sync")
    await app.drain()
    return response.body["runId"]


async def test_runs_are_listed_newest_first_when_several_ran(app):
    first = await _finished_run(app)
    second = await _finished_run(app)
    response = await app.call("list_runs", "GET", "runs", params={"limit": "2"})
    assert response.status == 200
    assert [r["id"] for r in response.body["runs"]] == [second, first]


async def test_run_is_answered_with_counters_when_it_exists(app):
    run_id = await _finished_run(app)
    response = await app.call("get_run", "GET", f"runs/{run_id}", route={"id": run_id})
    assert response.status == 200
    assert response.body["id"] == run_id
    assert set(response.body["counters"]) >= {"inserted", "modified", "failed"}


async def test_run_errors_are_listed_when_records_failed(app):
    response = await app.call("start_full_sync", "POST", "sync/full")
    await app.drain()
    run_id = response.body["runId"]
    errors = await app.call("list_run_errors", "GET", "x", route={"id": run_id})
    assert errors.status == 200
    assert errors.body["runId"] == run_id
    assert errors.body["errors"], "the sandbox seeds records the services refuse"
    assert {"mapping", "side", "recordId", "message"} <= set(errors.body["errors"][0])


@pytest.mark.parametrize("function", ["get_run", "list_run_errors"])
async def test_run_answers_404_when_run_is_unknown(app, function):
    response = await app.call(function, "GET", "x", route={"id": uuid.uuid4().hex})
    assert response.status == 404
    assert response.error_code == "run_not_found"


async def test_run_answers_400_when_id_is_malformed(app):
    response = await app.call("get_run", "GET", "x", route={"id": "../etc"})
    assert response.status == 400
    assert response.error_code == "invalid_id"


@pytest.mark.parametrize("limit", ["0", "201", "ten"])
async def test_runs_answer_400_when_limit_is_out_of_range(app, limit):
    response = await app.call("list_runs", "GET", "runs", params={"limit": limit})
    assert response.status == 400


class _BrokenRunStore(InMemoryRunStore):
    async def list_runs(self, scope, *, limit=50):  # noqa: ARG002
        raise RuntimeError("disk on fire at /var/secret/path")


async def test_unexpected_failure_answers_generic_500_without_trace_when_store_breaks(
    functions, caplog
):
    state = InMemoryStateStore()
    state.runs = _BrokenRunStore()
    app = await open_app(functions, store=state)
    try:
        response = await app.call(
            "list_runs", "GET", "runs", headers={"x-correlation-id": "corr-42"}
        )
    finally:
        await close_app(app)
    assert response.status == 500
    assert response.error_code == "internal_error"
    assert "corr-42" in response.body["error"]["message"]
    assert "fire" not in str(response.body)
    assert "Traceback" not in str(response.body)
    assert "corr-42" in caplog.text

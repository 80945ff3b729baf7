from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync.entrypoints.idempotency import request_fingerprint
from sync.models.idempotency import StoredResponse
from tests.entrypoints.harness import close_app, open_app
from tests.fakes.store import InMemoryRunStore, InMemoryStateStore


async def test_repeated_request_returns_first_run_and_does_no_second_run_when_key_repeats(app):
    headers = {"Idempotency-Key": "flow-run-1"}
    first = await app.call("start_modified_sync", "POST", "sync", headers=headers)
    again = await app.call("start_modified_sync", "POST", "sync", headers=headers)
    assert first.status == again.status == 202
    assert again.body["runId"] == first.body["runId"]
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(app.queue.messages) == 1
    scope = app.dependencies.runner(app.companies[0]).parts.scope.key
    assert len(await app.store.runs.list_runs(scope)) == 1


async def test_repeated_error_is_replayed_when_first_answer_was_a_client_error(app):
    headers = {"Idempotency-Key": "k-404"}
    body = {"bcId": "5d1c9b1e-0000-4000-8000-000000000001"}
    first = await app.call(
        "sync_one_record", "POST", "x", route={"mapping": "NOPE"}, json_body=body, headers=headers
    )
    again = await app.call(
        "sync_one_record", "POST", "x", route={"mapping": "NOPE"}, json_body=body, headers=headers
    )
    assert first.status == again.status == 404
    assert again.body == first.body


async def test_key_reused_with_other_body_answers_422_when_it_repeats(app):
    headers = {"Idempotency-Key": "k-reused"}
    await app.call("start_full_sync", "POST", "sync/full", json_body={"mappings": ["CURRENCY"]},
                   headers=headers)  # fmt: skip
    other = await app.call(
        "start_full_sync",
        "POST",
        "sync/full",
        json_body={"mappings": ["CUSTOMER"]},
        headers=headers,
    )
    assert other.status == 422
    assert other.error_code == "idempotency_key_reused"


async def test_repeat_answers_409_when_first_request_is_still_being_answered(app):
    headers = {"Idempotency-Key": "k-busy"}
    request = app.request("POST", "sync", headers=headers)
    in_progress = StoredResponse(
        key="k-busy",
        fingerprint=request_fingerprint(request),
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    assert await app.dependencies.idempotency.reserve_key(in_progress) is None
    response = await app.call("start_modified_sync", "POST", "sync", headers=headers)
    assert response.status == 409
    assert response.error_code == "request_in_progress"
    assert app.queue.messages == []


class _RunStoreFailingOnce(InMemoryRunStore):
    def __init__(self):
        super().__init__()
        self.failures = 1

    async def save_run(self, run):
        if self.failures:
            self.failures -= 1
            raise RuntimeError("store hiccup")
        await super().save_run(run)


async def test_key_is_released_so_a_retry_works_when_first_request_failed_on_our_side(functions):
    state = InMemoryStateStore()
    state.runs = _RunStoreFailingOnce()
    app = await open_app(functions, store=state)
    headers = {"Idempotency-Key": "k-retry"}
    try:
        failed = await app.call("start_modified_sync", "POST", "sync", headers=headers)
        retried = await app.call("start_modified_sync", "POST", "sync", headers=headers)
    finally:
        await close_app(app)
    assert failed.status == 500
    assert retried.status == 202

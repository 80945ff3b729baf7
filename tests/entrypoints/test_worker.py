from __future__ import annotations

from sync.entrypoints.work_message import parse_work


def _scope(app) -> str:
    return app.dependencies.runner(app.companies[0]).parts.scope.key


async def test_poisoned_page_becomes_per_record_errors_and_the_run_finishes_when_given_up(app):
    accepted = await app.call(
        "start_full_sync", "POST", "sync/full", json_body={"mappings": ["CUSTOMER"]}
    )
    (split,) = app.queue.take_all()
    await app.deliver(split)
    pages = app.queue.take_all()
    assert pages
    poisoned, *healthy = pages
    for page in healthy:
        await app.deliver(page)
    await app.deliver(poisoned, poison=True)  # failed maxDequeueCount times
    await app.drain()
    run_id = accepted.body["runId"]
    done = await app.poll(accepted.headers["Location"])
    assert done.status == 200
    assert done.body["status"] in ("partial", "failed")
    ids = parse_work(poisoned).ids
    assert done.body["counters"]["failed"] >= len(ids)
    errors = await app.call("list_run_errors", "GET", "x", route={"id": run_id})
    failed_ids = {e["recordId"] for e in errors.body["errors"] if e["code"] == "work_item_failed"}
    assert failed_ids == set(ids)


async def test_poisoned_run_message_fails_the_run_with_reason_when_given_up(app):
    accepted = await app.call("start_modified_sync", "POST", "sync")
    (message,) = app.queue.take_all()
    await app.deliver(message, poison=True)
    done = await app.poll(accepted.headers["Location"])
    assert done.status == 200
    assert done.body["status"] == "failed"
    assert "failed on every delivery" in done.body["message"]


async def test_redelivered_run_message_does_not_run_again_when_run_finished(app):
    accepted = await app.call("start_modified_sync", "POST", "sync")
    (message,) = app.queue.take_all()
    await app.deliver(message, message_id="same")
    first = (await app.poll(accepted.headers["Location"])).body
    await app.deliver(message, message_id="same")
    again = (await app.poll(accepted.headers["Location"])).body
    assert again == first
    assert len(await app.store.runs.list_runs(_scope(app))) == 1


async def test_unreadable_message_is_dropped_with_log_line_when_delivered(app, caplog):
    await app.deliver('{"kind": "launch-rockets"}')
    await app.deliver(b"\xff\xfe".decode("latin-1"))
    assert "unreadable work message" in caplog.text
    assert app.queue.messages == []

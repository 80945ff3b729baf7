from __future__ import annotations

import logging
from datetime import timedelta

from sync.models import RunMode
from tests.entrypoints.harness import close_app, open_app


def _scope(app, company: str) -> str:
    return app.dependencies.runner(company).parts.scope.key


async def test_late_timer_runs_once_per_company_when_it_is_past_due(functions, caplog):
    app = await open_app(functions, several_companies=True)
    caplog.set_level(logging.INFO, logger="sync")
    try:
        await app.fire_timer("sync_currency", past_due=True)
        runs = {c: await app.store.runs.list_runs(_scope(app, c)) for c in app.companies}
    finally:
        await close_app(app)
    assert all(len(found) == 1 for found in runs.values())
    assert all(found[0].mode is RunMode.MAPPING for found in runs.values())
    assert all(found[0].mappings == ("CURRENCY",) for found in runs.values())
    assert "past due" in caplog.text


async def test_timer_skips_with_log_line_when_mapping_is_running(app, caplog):
    caplog.set_level(logging.INFO, logger="sync")
    parts = app.dependencies.runner(app.companies[0]).parts
    await parts.stores.leases.acquire_lease(
        f"{parts.scope.key}|CUSTOMER", "another-run", parts.options.lease
    )
    await app.fire_timer("sync_customer")
    assert await app.store.runs.list_runs(parts.scope.key) == []
    assert "reason=already running" in caplog.text


async def test_timer_skips_with_log_line_when_mapping_is_disabled(app, caplog):
    caplog.set_level(logging.INFO, logger="sync")
    document = (await app.call("get_mapping", "GET", "x", route={"name": "VENDOR"})).body
    document["enabled"] = False
    await app.call("replace_mapping", "PUT", "x", route={"name": "VENDOR"}, json_body=document)
    await app.fire_timer("sync_vendor")
    assert await app.store.runs.list_runs(_scope(app, app.companies[0])) == []
    assert "reason=disabled" in caplog.text


async def test_timer_of_option_mapping_only_logs_when_it_fires(app, caplog):
    caplog.set_level(logging.INFO, logger="sync")
    await app.fire_timer("sync_payment_terms")
    assert await app.store.runs.list_runs(_scope(app, app.companies[0])) == []
    assert "option mapping" in caplog.text


async def test_timer_releases_the_mapping_when_its_run_finished(app):
    await app.fire_timer("sync_currency")
    await app.fire_timer("sync_currency")
    runs = await app.store.runs.list_runs(_scope(app, app.companies[0]))
    assert len(runs) == 2
    assert all(run.status.value == "succeeded" for run in runs)


async def test_purge_timer_deletes_expired_keys_when_it_fires(app):
    await app.call("start_modified_sync", "POST", "sync", headers={"Idempotency-Key": "old"})
    app.link_clock.offset = timedelta(days=2)
    await app.fire_timer("purge_expired_keys")
    assert app.dependencies.idempotency.records == {}

from __future__ import annotations

import os

from pydantic import SecretStr

from sync.entrypoints.work_message import parse_work
from sync.mappings import standard_mappings
from sync.models import RunMode
from sync.settings import SyncApiSettings
from tests.entrypoints.harness import SIGNING_KEY, close_app, open_app

# A few hundred records keep this quick; set it to 20000 for the full-size comparison.
RECORDS = int(os.environ.get("SYNC_FAN_OUT_TEST_RECORDS", "120"))
PAGE_SIZE = 16


def _api() -> SyncApiSettings:
    return SyncApiSettings(status_signing_key=SecretStr(SIGNING_KEY), fan_out_page_size=PAGE_SIZE)


async def _couplings(app) -> dict[str, set[tuple[str, str]]]:
    scope = app.dependencies.runner(app.companies[0]).parts.scope.key
    mappings = [m.name for m in standard_mappings().mappings]
    return {
        name: {
            (c.bc_id, c.dataverse_id) async for c in app.store.couplings.load_couplings(scope, name)
        }
        for name in mappings
    }


async def _fan_out_full_sync(app, *, redeliver_every: int) -> dict:
    accepted = await app.call("start_full_sync", "POST", "sync/full")
    assert accepted.status == 202
    delivered = pages = 0
    while app.queue.messages:
        for text in app.queue.take_all():
            await app.deliver(text, message_id=f"m{delivered}")
            delivered += 1
            if parse_work(text).kind == "page":
                pages += 1
                if pages % redeliver_every == 0:  # at-least-once: the same message again
                    await app.deliver(text, message_id=f"m{delivered - 1}")
    assert pages > 5, "the full sync should have been split into several work items"
    done = await app.poll(accepted.headers["Location"])
    assert done.status == 200
    return done.body


async def test_fanned_out_full_sync_ends_like_in_process_full_sync_when_items_repeat(functions):
    queued = await open_app(functions, records=RECORDS, api=_api())
    try:
        fanned = await _fan_out_full_sync(queued, redeliver_every=3)
        fanned_couplings = await _couplings(queued)
    finally:
        await close_app(queued)
    direct = await open_app(functions, records=RECORDS)
    try:
        result = await direct.dependencies.runner(direct.companies[0]).run(RunMode.FULL)
        direct_couplings = await _couplings(direct)
    finally:
        await close_app(direct)
    assert sum(len(pairs) for pairs in fanned_couplings.values()) > RECORDS
    assert fanned_couplings == direct_couplings
    assert fanned["counters"] == result.run.counters.model_dump()
    assert fanned["status"] == result.run.status.value

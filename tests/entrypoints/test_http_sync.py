from __future__ import annotations

import uuid

import pytest


def _customer(app, n: int = 0) -> dict:
    customers = [
        c for c in app.bc.all(app.companies[0], "customers") if len(c.get("country") or "") <= 10
    ]
    return customers[n]


async def _sync_currency_first(app):
    # Customers look currencies up through CURRENCY's couplings.
    response = await app.call(
        "start_full_sync", "POST", "sync/full", json_body={"mappings": ["CURRENCY"]}
    )
    assert response.status == 202
    await app.drain()


async def test_record_sync_creates_counterpart_when_bc_id_is_given(app):
    await _sync_currency_first(app)
    customer = _customer(app)
    response = await app.call(
        "sync_one_record",
        "POST",
        "sync/CUSTOMER/records",
        route={"mapping": "CUSTOMER"},
        json_body={"bcId": customer["id"]},
    )
    assert response.status == 200, response.body
    assert response.body["run"]["mode"] == "record"
    assert response.body["run"]["counters"]["inserted"] == 1
    assert response.body["plan"] is None
    coupling = await app.store.couplings.get_by_bc_id(
        app.dependencies.runner(app.companies[0]).parts.scope.key, "CUSTOMER", customer["id"]
    )
    assert coupling is not None


async def test_record_sync_answers_plan_and_writes_nothing_when_dry_run(app):
    await _sync_currency_first(app)
    customer = _customer(app)
    response = await app.call(
        "sync_one_record",
        "POST",
        "sync/customer/records",
        route={"mapping": "customer"},
        params={"dryRun": "true"},
        json_body={"bcId": customer["id"]},
    )
    assert response.status == 200
    assert response.body["plan"]["total"] == 1
    assert response.body["plan"]["operations"][0]["kind"] == "create"
    runs = await app.store.runs.list_runs(response.body["run"]["id"], limit=5)
    assert runs == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"bcId": "not-a-guid"}, "invalid_request"),
        ({"bcId": str(uuid.uuid4()), "colour": "red"}, "invalid_request"),
        ({"bcId": str(uuid.uuid4()), "dataverseId": str(uuid.uuid4())}, "invalid_request"),
        ({}, "invalid_request"),
    ],
    ids=["non_guid_id", "unknown_field", "both_ids", "no_id"],
)
async def test_record_sync_answers_400_when_body_is_malformed(app, body, code):
    response = await app.call(
        "sync_one_record", "POST", "x", route={"mapping": "CUSTOMER"}, json_body=body
    )
    assert response.status == 400
    assert response.error_code == code
    assert set(response.body["error"]) == {"code", "message", "details"}


async def test_record_sync_answers_400_when_body_is_not_json(app):
    response = await app.call(
        "sync_one_record", "POST", "x", route={"mapping": "CUSTOMER"}, body=b"{bcId:"
    )
    assert response.status == 400
    assert response.error_code == "invalid_json"


async def test_record_sync_answers_404_when_mapping_is_unknown(app):
    response = await app.call(
        "sync_one_record",
        "POST",
        "x",
        route={"mapping": "NOPE"},
        json_body={"bcId": str(uuid.uuid4())},
    )
    assert response.status == 404
    assert response.error_code == "mapping_not_found"


async def test_record_sync_answers_404_when_record_is_unknown(app):
    response = await app.call(
        "sync_one_record",
        "POST",
        "x",
        route={"mapping": "CUSTOMER"},
        json_body={"dataverseId": str(uuid.uuid4())},
    )
    assert response.status == 404
    assert response.error_code == "record_not_found"


async def test_record_sync_answers_409_when_mapping_is_running(app):
    parts = app.dependencies.runner(app.companies[0]).parts
    await parts.stores.leases.acquire_lease(
        f"{parts.scope.key}|CUSTOMER", "someone-else", parts.options.lease
    )
    response = await app.call(
        "sync_one_record",
        "POST",
        "x",
        route={"mapping": "CUSTOMER"},
        json_body={"bcId": _customer(app)["id"]},
    )
    assert response.status == 409
    assert response.error_code == "mapping_running"


async def test_record_sync_answers_422_when_mapping_is_an_option_mapping(app):
    response = await app.call(
        "sync_one_record",
        "POST",
        "x",
        route={"mapping": "payment_terms"},
        json_body={"bcId": str(uuid.uuid4())},
    )
    assert response.status == 422
    assert response.error_code == "option_mapping"


async def test_mapping_sync_answers_202_then_status_link_gives_counters_when_worker_ran(app):
    await _sync_currency_first(app)
    currency = app.bc.all(app.companies[0], "currencies")[0]
    app.bc.edit(app.companies[0], "currencies", currency["id"], {"displayName": "Edited"})
    response = await app.call(
        "start_mapping_sync", "POST", "sync/CURRENCY", route={"mapping": "CURRENCY"}
    )
    assert response.status == 202
    assert response.headers["Retry-After"] == "10"
    location = response.headers["Location"]
    assert location == response.body["statusUrl"]
    assert "sig=" in location
    assert "exp=" in location
    run_id = response.body["runId"]
    pending = await app.poll(location)
    assert pending.status == 202
    assert pending.headers["Retry-After"] == "10"
    assert len(app.queue.messages) == 1
    await app.drain()
    done = await app.poll(location)
    assert done.status == 200
    assert done.body["id"] == run_id
    assert done.body["status"] == "succeeded"
    assert done.body["mappings"] == ["CURRENCY"]
    assert done.body["counters"]["modified"] == 1


async def test_mapping_sync_answers_plan_when_dry_run_is_in_body(app):
    response = await app.call(
        "start_mapping_sync",
        "POST",
        "sync/CURRENCY",
        route={"mapping": "CURRENCY"},
        json_body={"dryRun": True},
    )
    assert response.status == 200
    assert response.body["run"]["dryRun"] is True
    assert response.body["plan"]["total"] > 0
    assert app.queue.messages == []


async def test_mapping_sync_answers_409_when_mapping_is_running(app):
    first = await app.call("start_mapping_sync", "POST", "x", route={"mapping": "CURRENCY"})
    second = await app.call("start_mapping_sync", "POST", "x", route={"mapping": "CURRENCY"})
    assert first.status == 202
    assert second.status == 409
    assert second.error_code == "mapping_running"
    assert len(app.queue.messages) == 1


async def test_modified_sync_runs_every_mapping_when_worker_ran(app):
    response = await app.call("start_modified_sync", "POST", "sync")
    assert response.status == 202
    await app.drain()
    done = await app.poll(response.headers["Location"])
    assert done.status == 200
    assert done.body["mode"] == "modified"
    assert "CUSTOMER" in done.body["mappings"]


async def test_full_sync_answers_404_when_a_named_mapping_is_unknown(app):
    response = await app.call(
        "start_full_sync", "POST", "sync/full", json_body={"mappings": ["CUSTOMER", "NOPE"]}
    )
    assert response.status == 404
    assert response.error_code == "mapping_not_found"


async def test_full_sync_answers_plan_when_dry_run_is_asked(app):
    response = await app.call(
        "start_full_sync",
        "POST",
        "sync/full",
        params={"dryRun": "1"},
        json_body={"mappings": ["CURRENCY"]},
    )
    assert response.status == 200
    assert response.body["plan"]["byKind"]


async def test_full_sync_answers_400_when_dry_run_flag_is_not_boolean(app):
    response = await app.call("start_full_sync", "POST", "sync/full", params={"dryRun": "maybe"})
    assert response.status == 400
    assert response.error_code == "invalid_query"


async def test_full_sync_couples_and_creates_when_worker_drains_the_queue(app):
    response = await app.call("start_full_sync", "POST", "sync/full")
    assert response.status == 202
    delivered = await app.drain()
    assert delivered > 1
    done = await app.poll(response.headers["Location"])
    assert done.status == 200
    assert done.body["mode"] == "full"
    assert done.body["counters"]["inserted"] > 0
    scope = app.dependencies.runner(app.companies[0]).parts.scope.key
    couplings = [c async for c in app.store.couplings.load_couplings(scope, "CUSTOMER")]
    assert couplings

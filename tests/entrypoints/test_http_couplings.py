from __future__ import annotations

import uuid

import pytest


def _scope(app) -> str:
    return app.dependencies.runner(app.companies[0]).parts.scope.key


async def _coupled_currencies(app):
    response = await app.call(
        "start_full_sync", "POST", "sync/full", json_body={"mappings": ["CURRENCY"]}
    )
    assert response.status == 202
    await app.drain()
    return [c async for c in app.store.couplings.load_couplings(_scope(app), "CURRENCY")]


async def test_couple_answers_201_with_run_when_both_records_exist(app):
    couplings = await _coupled_currencies(app)
    pair = couplings[0]
    await app.call(
        "uncouple_records", "DELETE", "x", route={"mapping": "CURRENCY"},
        json_body={"bcIds": [pair.bc_id]},
    )  # fmt: skip
    response = await app.call(
        "couple_records",
        "POST",
        "couplings/CURRENCY",
        route={"mapping": "CURRENCY"},
        json_body={"bcId": pair.bc_id, "dataverseId": pair.dataverse_id},
    )
    assert response.status == 201, response.body
    assert response.body["run"]["mode"] == "couple"
    assert await app.store.couplings.get_by_bc_id(_scope(app), "CURRENCY", pair.bc_id)


async def test_couple_answers_409_when_record_is_coupled_already(app):
    first, second = (await _coupled_currencies(app))[:2]
    response = await app.call(
        "couple_records",
        "POST",
        "x",
        route={"mapping": "CURRENCY"},
        json_body={"bcId": first.bc_id, "dataverseId": second.dataverse_id},
    )
    assert response.status == 409
    assert response.error_code == "already_coupled"


async def test_couple_answers_404_when_a_record_does_not_exist(app):
    response = await app.call(
        "couple_records",
        "POST",
        "x",
        route={"mapping": "CURRENCY"},
        json_body={"bcId": str(uuid.uuid4()), "dataverseId": str(uuid.uuid4())},
    )
    assert response.status == 404
    assert response.error_code == "record_not_found"


async def test_uncouple_removes_many_couplings_when_ids_of_both_sides_are_given(app):
    first, second, *_ = await _coupled_currencies(app)
    response = await app.call(
        "uncouple_records",
        "DELETE",
        "x",
        route={"mapping": "CURRENCY"},
        json_body={"bcIds": [first.bc_id], "dataverseIds": [second.dataverse_id]},
    )
    assert response.status == 200
    assert response.body["run"]["counters"]["uncoupled"] == 2
    assert await app.store.couplings.get_by_bc_id(_scope(app), "CURRENCY", first.bc_id) is None


@pytest.mark.parametrize(
    "body",
    [{}, {"bcIds": ["nope"]}, {"bcIds": [], "extra": 1}],
    ids=["no_ids", "non_guid", "unknown_field"],
)
async def test_uncouple_answers_400_when_body_is_malformed(app, body):
    response = await app.call(
        "uncouple_records", "DELETE", "x", route={"mapping": "CURRENCY"}, json_body=body
    )
    assert response.status == 400
    assert response.error_code == "invalid_request"


async def test_couplings_of_a_record_are_listed_when_asked_by_either_id(app):
    pair = (await _coupled_currencies(app))[0]
    by_bc = await app.call(
        "list_couplings", "GET", "x", route={"mapping": "CURRENCY"}, params={"bcId": pair.bc_id}
    )
    by_dataverse = await app.call(
        "list_couplings",
        "GET",
        "x",
        route={"mapping": "CURRENCY"},
        params={"dataverseId": pair.dataverse_id},
    )
    assert by_bc.status == by_dataverse.status == 200
    assert by_bc.body == by_dataverse.body
    assert by_bc.body["couplings"][0]["dataverseId"] == pair.dataverse_id


async def test_couplings_of_an_uncoupled_record_are_an_empty_list_when_asked(app):
    response = await app.call(
        "list_couplings",
        "GET",
        "x",
        route={"mapping": "CURRENCY"},
        params={"bcId": str(uuid.uuid4())},
    )
    assert response.status == 200
    assert response.body == {"couplings": []}


@pytest.mark.parametrize(
    "params", [{}, {"bcId": "x"}, {"bcId": str(uuid.uuid4()), "dataverseId": str(uuid.uuid4())}],
    ids=["no_id", "non_guid", "both_ids"],
)  # fmt: skip
async def test_couplings_answer_400_when_query_is_malformed(app, params):
    response = await app.call(
        "list_couplings", "GET", "x", route={"mapping": "CURRENCY"}, params=params
    )
    assert response.status == 400


async def test_skipped_records_are_listed_and_restored_when_asked(app):
    pair = (await _coupled_currencies(app))[0]
    skipped = pair.model_copy(update={"skipped": True, "failure_count": 3, "last_error": "x"})
    await app.store.couplings.put_couplings([skipped])
    listed = await app.call("list_skipped", "GET", "x", route={"mapping": "CURRENCY"})
    assert [c["bcId"] for c in listed.body["couplings"]] == [pair.bc_id]
    restored = await app.call(
        "restore_skipped",
        "POST",
        "x",
        route={"mapping": "CURRENCY"},
        json_body={"bcIds": [pair.bc_id], "retry": True},
    )
    assert restored.status == 200, restored.body
    after = await app.call("list_skipped", "GET", "x", route={"mapping": "CURRENCY"})
    assert after.body == {"couplings": []}


async def test_restore_answers_400_when_no_id_is_given(app):
    response = await app.call(
        "restore_skipped", "POST", "x", route={"mapping": "CURRENCY"}, json_body={"bcIds": []}
    )
    assert response.status == 400


async def test_skipped_answers_404_when_mapping_is_unknown(app):
    response = await app.call("list_skipped", "GET", "x", route={"mapping": "NOPE"})
    assert response.status == 404
    assert response.body["error"]["code"] == "mapping_not_found"

from __future__ import annotations

import json

import pytest

from sync.mappings import export_mappings, standard_mappings


async def test_mappings_are_listed_in_run_order_with_timers_when_none_were_saved(app):
    response = await app.call("list_mappings", "GET", "mappings")
    assert response.status == 200
    assert response.body["customized"] is False
    names = [m["name"] for m in response.body["mappings"]]
    assert names.index("CURRENCY") < names.index("CUSTOMER") < names.index("CONTACT")
    terms = next(m for m in response.body["mappings"] if m["name"] == "PAYMENT TERMS")
    assert terms["timerFunction"] == "sync_payment_terms"
    assert terms["isOption"] is True


async def test_mapping_is_answered_as_in_a_mapping_file_when_it_exists(app):
    response = await app.call("get_mapping", "GET", "x", route={"name": "payment-terms"})
    assert response.status == 200
    assert response.body["name"] == "PAYMENT TERMS"
    assert response.body["fields"]


async def test_mapping_answers_404_when_it_is_unknown(app):
    response = await app.call("get_mapping", "GET", "x", route={"name": "NOPE"})
    assert response.status == 404
    assert response.error_code == "mapping_not_found"


async def test_replace_saves_mapping_when_it_is_sound(app):
    document = (await app.call("get_mapping", "GET", "x", route={"name": "VENDOR"})).body
    document["enabled"] = False
    response = await app.call(
        "replace_mapping", "PUT", "x", route={"name": "VENDOR"}, json_body=document
    )
    assert response.status == 200, response.body
    assert response.body["enabled"] is False
    listed = await app.call("list_mappings", "GET", "mappings")
    assert listed.body["customized"] is True
    vendor = next(m for m in listed.body["mappings"] if m["name"] == "VENDOR")
    assert vendor["enabled"] is False


async def test_replace_answers_422_naming_mapping_and_field_when_field_is_unknown(app):
    document = (await app.call("get_mapping", "GET", "x", route={"name": "CUSTOMER"})).body
    document["fields"][0]["dataverse_field"] = "nmae"
    response = await app.call(
        "replace_mapping", "PUT", "x", route={"name": "CUSTOMER"}, json_body=document
    )
    assert response.status == 422
    assert response.error_code == "invalid_mapping"
    assert response.body["error"]["details"][0]["mapping"] == "CUSTOMER"
    assert response.body["error"]["details"][0]["field"]
    saved = await app.call("list_mappings", "GET", "mappings")
    assert saved.body["customized"] is False


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{", "invalid_json"),
        (b"[1, 2]", "invalid_request"),
        (b'{"name": "VENDOR"}', "name_mismatch"),
    ],
    ids=["bad_json", "not_an_object", "other_name"],
)
async def test_replace_answers_400_when_body_is_malformed(app, body, code):
    response = await app.call("replace_mapping", "PUT", "x", route={"name": "CUSTOMER"}, body=body)
    assert response.status == 400
    assert response.error_code == code


async def test_reset_brings_back_the_defaults_when_mappings_were_customized(app):
    mappings = standard_mappings()
    two = mappings.model_copy(update={"mappings": mappings.mappings[:2]})
    imported = await app.call(
        "import_mapping_file", "POST", "mappings/import", body=export_mappings(two).encode()
    )
    assert imported.status == 200
    assert len(imported.body["mappings"]) == 2
    reset = await app.call("reset_mappings", "POST", "mappings/reset")
    assert reset.status == 200
    assert reset.body["customized"] is False
    assert len(reset.body["mappings"]) == len(mappings.mappings)


async def test_export_answers_the_mapping_file_when_asked(app):
    response = await app.call("export_mapping_file", "GET", "mappings/export")
    assert response.status == 200
    assert response.body == json.loads(export_mappings(standard_mappings()))
    assert "attachment" in response.headers["Content-Disposition"]


async def test_import_answers_422_listing_problems_when_file_is_unsound(app):
    document = json.loads(export_mappings(standard_mappings()))
    document["mappings"][0]["direction"] = "sideways"
    document["mappings"][1]["bc_entity"] = ""
    response = await app.call("import_mapping_file", "POST", "mappings/import", json_body=document)
    assert response.status == 422
    assert response.error_code == "invalid_mapping"
    assert len(response.body["error"]["details"]) >= 2


@pytest.mark.parametrize("body", [b"", b"not json", b"42"], ids=["empty", "bad_json", "number"])
async def test_import_answers_400_when_body_is_not_a_json_object(app, body):
    response = await app.call("import_mapping_file", "POST", "mappings/import", body=body)
    assert response.status == 400

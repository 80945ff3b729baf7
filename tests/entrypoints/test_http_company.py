from __future__ import annotations

import uuid

import pytest

from tests.entrypoints.harness import close_app, open_app


@pytest.fixture
async def two_companies(functions):
    app = await open_app(functions, several_companies=True)
    try:
        yield app
    finally:
        await close_app(app)


async def test_request_answers_400_listing_companies_when_several_exist_and_none_is_named(
    two_companies,
):
    response = await two_companies.call("list_mappings", "GET", "mappings")
    assert response.status == 400
    assert response.error_code == "company_required"
    assert len(response.body["error"]["details"]) == 2


async def test_request_uses_named_company_when_several_exist(two_companies):
    company = two_companies.companies[1]
    response = await two_companies.call(
        "start_modified_sync", "POST", "sync", params={"company": company.upper()}
    )
    assert response.status == 202
    assert response.body["run"]["company"] == company
    assert f"company={company}" in response.headers["Location"]


async def test_request_answers_404_when_company_is_not_configured(app):
    response = await app.call(
        "list_mappings", "GET", "mappings", params={"company": str(uuid.uuid4())}
    )
    assert response.status == 404
    assert response.error_code == "company_not_found"


async def test_request_answers_400_when_company_is_not_a_guid(app):
    response = await app.call("list_mappings", "GET", "mappings", params={"company": "cronus"})
    assert response.status == 400
    assert response.error_code == "invalid_id"

"""Reading BC business relations (``contactsInformation``) through the connector and gateway."""

from __future__ import annotations

import pytest

from sync.connectors.business_central_gateway import BusinessCentralGateway
from sync.connectors.business_central_payload import parse_business_relations
from sync.errors import ConfigError, PermanentConnectorError
from sync.mappings.standard import CONTACT
from sync.mappings.standard_accounts import VENDOR
from tests.adapters.test_business_central_connector import (
    RecordingTransport,
    open_sandbox,
    query_of,
)


async def test_company_contacts_of_all_customers_read_a_page_per_request_when_expanded():
    recorded: list[RecordingTransport] = []

    def record(inner):
        recorded.append(RecordingTransport(inner))
        return recorded[0]

    async with open_sandbox(records=25) as sandbox:
        company = sandbox.companies[0]
        connector = sandbox.connector(company, transport=record)

        pages = [
            page async for page in connector.read_business_relations("customers", page_size=10)
        ]

        customers = sandbox.customers(company)
        expected = {
            c["id"]: sandbox.service.related_contact(company, c["id"])
            for c in customers
            if c["type"] == "Company"
        }
    relations = [relation for page in pages for relation in page]
    assert {r.related_id: r.contact_number for r in relations} == {
        related_id: contact["number"] for related_id, contact in expected.items()
    }
    assert all(r.related_number.startswith("C") for r in relations)
    assert len(recorded[0].requests) == 3  # 25 customers, 10 a page
    query = query_of(recorded[0].requests[0])
    assert query["$select"] == "id,number"
    assert query["$expand"].startswith("contactsInformation($filter=contactType eq 'Company'")


async def test_vendor_relations_streamed_when_gateway_reads_a_vendor_mapping():
    async with open_sandbox(records=6) as sandbox:
        company = sandbox.companies[0]
        gateway = BusinessCentralGateway(sandbox.connector(company), page_size=100)

        relations = [r async for r in gateway.read_business_relations(VENDOR)]

        vendors = {v["id"] for v in sandbox.service.all(company, "vendors")}
    assert {r.related_id for r in relations} == vendors


async def test_config_error_before_any_request_when_entity_has_no_business_relations():
    async with open_sandbox(records=0) as sandbox:
        gateway = BusinessCentralGateway(sandbox.connector(sandbox.companies[0]), page_size=100)

        with pytest.raises(ConfigError, match="customers or vendors"):
            async for _ in gateway.read_business_relations(CONTACT):
                pass

        assert sandbox.apps.business_central.snapshot().count(method="GET") == 0


@pytest.mark.parametrize(
    "row",
    [
        pytest.param({"number": "C1", "contactsInformation": []}, id="no id"),
        pytest.param({"id": "9a1e", "number": "C1"}, id="navigation not expanded"),
        pytest.param(
            {"id": "9a1e", "contactsInformation": [{"contactType": "Company", "contactId": "x"}]},
            id="company contact without number",
        ),
    ],
)
def test_malformed_page_refused_when_relations_parsed(row):
    with pytest.raises(PermanentConnectorError):
        parse_business_relations({"value": [row]})


def test_rows_without_company_contact_left_out_when_relations_parsed():
    page = {
        "value": [
            {"id": "a", "number": "C1", "contactsInformation": []},
            {
                "id": "b",
                "number": "C2",
                "contactsInformation": [
                    {"contactId": "p", "contactNumber": "CT9", "contactType": "Person"},
                    {"contactId": "c", "contactNumber": "CT1", "contactType": "Company"},
                ],
            },
        ]
    }

    [relation] = parse_business_relations(page)

    assert (relation.related_id, relation.related_number) == ("b", "C2")
    assert (relation.contact_id, relation.contact_number) == ("c", "CT1")

"""Fidelity check: Microsoft's own Dataverse SDK works against the emulator over TLS.

`powerplatform-dataverse-client` refuses plain http, so the emulator is served by uvicorn on a
loopback port with a throwaway certificate from `trustme`; `requests` (the SDK's HTTP stack)
trusts that CA through `REQUESTS_CA_BUNDLE`. The SDK resolves tables through EntityDefinitions,
converts choice labels through picklist metadata, and parses `$batch` responses itself, so
every call below exercises the emulator's wire format as a real client reads it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
import uvicorn
from azure.core.credentials import AccessToken
from PowerPlatform.Dataverse.client import DataverseClient
from PowerPlatform.Dataverse.models.upsert import UpsertItem
from starlette.applications import Starlette

from sandbox.dataverse import SandboxOptions, create_app


class StaticCredential:
    """The smallest azure-identity style credential: a fixed bearer token."""

    def get_token(self, *scopes: str, **options: object) -> AccessToken:
        del scopes, options
        return AccessToken("sandbox-token", int(time.time()) + 3600)


@dataclass
class ServedEmulator:
    url: str
    app: Starlette
    ca_file: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[ServedEmulator]:
    folder = tmp_path_factory.mktemp("tls")
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    key_file, chain_file, ca_file = folder / "key.pem", folder / "chain.pem", folder / "ca.pem"
    certificate.private_key_pem.write_to_path(str(key_file))
    certificate.cert_chain_pems[0].write_to_path(str(chain_file))
    authority.cert_pem.write_to_path(str(ca_file))
    app = create_app(
        seed=13,
        records=23,
        options=SandboxOptions(alternate_keys={"account": (("accountnumber",),)}),
    )
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        app,
        ssl_keyfile=str(key_file),
        ssl_certfile=str(chain_file),
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    yield ServedEmulator(f"https://127.0.0.1:{port}", app, ca_file)
    server.should_exit = True
    thread.join(timeout=10)
    listener.close()


@pytest.fixture
def client(served, monkeypatch) -> Iterator[DataverseClient]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(served.ca_file))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with DataverseClient(served.url, StaticCredential()) as dataverse:
        yield dataverse


def test_sdk_creates_reads_updates_and_deletes_when_using_single_record_calls(client, served):
    sandbox = served.app.state.dataverse

    account_id = client.records.create(
        "account", {"name": "SDK Ltd", "customertypecode": "Vendor", "telephone1": "555-0100"}
    )
    read = client.records.retrieve("account", account_id, select=["name", "customertypecode"])
    client.records.update("account", account_id, {"telephone1": "555-0199"})
    updated = sandbox.get("accounts", account_id)
    client.records.delete("account", account_id)

    assert read["name"] == "SDK Ltd"
    assert read["customertypecode"] == 11  # the SDK turned the label into the choice value
    assert updated["telephone1"] == "555-0199"
    assert sandbox.get("accounts", account_id) is None
    assert client.records.retrieve("account", account_id) is None


def test_sdk_pages_through_every_account_when_the_page_size_is_small(client, served):
    expected = {row["accountid"] for row in served.app.state.dataverse.all("accounts")}

    pages = list(client.records.list_pages("account", select=["name"], page_size=4))

    ids = [record["accountid"] for page in pages for record in page]
    assert len(pages) == -(-len(expected) // 4)
    assert sorted(ids) == sorted(expected)


def test_sdk_bulk_creates_and_upserts_when_given_several_records(client, served):
    sandbox = served.app.state.dataverse

    created = client.records.create("account", [{"name": f"Bulk {n}"} for n in range(3)])
    client.records.upsert(
        "account",
        [
            UpsertItem(alternate_key={"accountnumber": "SDK-1"}, record={"name": "Upserted 1"}),
            UpsertItem(alternate_key={"accountnumber": "SDK-2"}, record={"name": "Upserted 2"}),
        ],
    )
    client.records.upsert(
        "account",
        [
            UpsertItem(alternate_key={"accountnumber": "SDK-1"}, record={"name": "Upserted again"}),
        ],
    )

    assert [sandbox.get("accounts", row_id)["name"] for row_id in created] == [
        "Bulk 0",
        "Bulk 1",
        "Bulk 2",
    ]
    by_number = {row["accountnumber"]: row["name"] for row in sandbox.all("accounts")}
    assert by_number["SDK-1"] == "Upserted again"
    assert by_number["SDK-2"] == "Upserted 2"


def test_sdk_batch_runs_a_changeset_with_references_when_executed(client, served):
    sandbox = served.app.state.dataverse
    existing = sandbox.all("accounts")[0]["accountid"]
    batch = client.batch.new()
    batch.records.retrieve("account", existing, select=["name"])
    with batch.changeset() as change_set:
        contact = change_set.records.create("contact", {"lastname": "Batch"})
        account = change_set.records.create("account", {"name": "Batch Co"})
        change_set.records.update("account", account, {"primarycontactid@odata.bind": contact})

    result = batch.execute()

    assert not result.has_errors
    assert [item.status_code for item in result.responses] == [200, 204, 204, 204]
    account_id = result.responses[2].entity_id
    contact_id = sandbox.get("accounts", account_id)["_primarycontactid_value"]
    assert sandbox.get("contacts", contact_id)["lastname"] == "Batch"


def test_sdk_reports_failures_per_item_when_continuing_on_error(client):
    batch = client.batch.new()
    batch.records.create("account", {"name": "x" * 161})
    batch.records.create("account", {"name": "fine"})

    result = batch.execute(continue_on_error=True)

    assert [item.status_code for item in result.responses] == [400, 204]
    assert result.responses[0].error_code == "0x80044331"

"""Multipart `$batch` of the Dataverse emulator: change sets, Content-ID, errors, limits (A6)."""

from __future__ import annotations

import email
import json
import uuid
from dataclasses import dataclass

import httpx
import pytest

from sandbox.dataverse import create_app

API = "/api/data/v9.2"


@dataclass
class Part:
    status: int
    headers: dict[str, str]
    body: str
    content_id: str | None


@pytest.fixture
async def client():
    app = create_app(seed=4, records=6)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dataverse.test"
    ) as http:
        http.app = app
        yield http


def operation(
    method: str,
    url: str,
    body: dict | None = None,
    content_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{method} {url} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body is not None:
        lines += ["Content-Type: application/json; type=entry", "", json.dumps(body)]
    else:
        lines += ["", ""]
    return "\r\n".join(lines)


def change_set(*operations: str, boundary: str = "changeset_1") -> str:
    inner = "".join(f"--{boundary}\r\n{item}\r\n" for item in operations)
    return f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n{inner}--{boundary}--\r\n'


async def send_batch(client, *parts: str, prefer: str | None = None) -> httpx.Response:
    boundary = f"batch_{uuid.uuid4()}"
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    headers = {"Content-Type": f'multipart/mixed; boundary="{boundary}"'}
    if prefer:
        headers["Prefer"] = prefer
    return await client.post(f"{API}/$batch", content=body.encode(), headers=headers)


def read_parts(response: httpx.Response) -> list[Part]:
    """Parse a multipart batch response with the standard library's MIME parser."""
    raw = f"Content-Type: {response.headers['content-type']}\r\n\r\n".encode() + response.content
    message = email.message_from_bytes(raw)
    parts: list[Part] = []
    for item in message.walk():
        if item.get_content_type() != "application/http":
            continue
        text = item.get_payload(decode=True).decode()
        head, _, body = text.replace("\r\n", "\n").partition("\n\n")
        status_line, *header_lines = head.split("\n")
        headers = dict(line.split(": ", 1) for line in header_lines if ": " in line)
        parts.append(
            Part(int(status_line.split()[1]), headers, body.strip(), item.get("Content-ID"))
        )
    return parts


async def test_change_set_resolves_content_id_references_when_later_parts_use_them(client):
    response = await send_batch(
        client,
        change_set(
            operation("POST", f"{API}/accounts", {"name": "Parent"}, content_id="1"),
            operation(
                "POST",
                f"{API}/contacts",
                {"lastname": "Child", "parentcustomerid_account@odata.bind": "$1"},
                content_id="2",
            ),
            operation("PATCH", "$1", {"primarycontactid@odata.bind": "$2"}, content_id="3"),
        ),
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("multipart/mixed; boundary=batchresponse_")
    assert "changesetresponse_" in response.text
    parts = read_parts(response)
    assert [(p.status, p.content_id) for p in parts] == [(204, "1"), (204, "2"), (204, "3")]
    account_id = parts[0].headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
    assert parts[0].headers["Location"] == parts[0].headers["OData-EntityId"]
    account = client.app.state.dataverse.get("accounts", account_id)
    contact = client.app.state.dataverse.get("contacts", account["_primarycontactid_value"])
    assert contact["_parentcustomerid_value"] == account_id


async def test_change_set_rolls_back_every_write_when_one_operation_fails(client):
    before = client.app.state.dataverse.count("accounts")

    response = await send_batch(
        client,
        change_set(
            operation("POST", f"{API}/accounts", {"name": "Kept?"}, content_id="1"),
            operation("POST", f"{API}/accounts", {"name": "x" * 161}, content_id="2"),
        ),
    )

    assert response.status_code == 400
    parts = read_parts(response)
    assert len(parts) == 1
    assert json.loads(parts[0].body)["error"]["code"] == "0x80044331"
    assert client.app.state.dataverse.count("accounts") == before


async def test_batch_stops_at_the_first_failure_when_continue_on_error_is_absent(client):
    response = await send_batch(
        client,
        operation("POST", f"{API}/accounts", {"name": "First"}),
        operation("POST", f"{API}/accounts", {"nope": 1}),
        operation("POST", f"{API}/accounts", {"name": "Never"}),
    )

    assert response.status_code == 400
    assert [part.status for part in read_parts(response)] == [204, 400]
    names = {row["name"] for row in client.app.state.dataverse.all("accounts")}
    assert "First" in names
    assert "Never" not in names


async def test_batch_runs_every_operation_when_continue_on_error_is_preferred(client):
    response = await send_batch(
        client,
        operation("POST", f"{API}/accounts", {"name": "y" * 161}),
        operation("POST", f"{API}/accounts", {"name": "Second"}),
        change_set(operation("POST", f"{API}/accounts", {"name": "Third"}, content_id="9")),
        prefer="odata.continue-on-error",
    )

    assert response.status_code == 200
    assert response.headers["Preference-Applied"] == "odata.continue-on-error"
    assert [part.status for part in read_parts(response)] == [400, 204, 204]


async def test_batch_answers_json_for_get_and_relative_urls(client):
    row_id = client.app.state.dataverse.all("accounts")[0]["accountid"]

    response = await send_batch(
        client,
        operation("GET", f"accounts({row_id})?$select=name"),
        operation("GET", f"http://dataverse.test{API}/accounts?$select=name&$top=2"),
    )

    single, collection = read_parts(response)
    assert json.loads(single.body)["accountid"] == row_id
    assert len(json.loads(collection.body)["value"]) == 2


@pytest.mark.parametrize(
    ("count", "status"), [(1000, 200), (1001, 400)], ids=["at-limit", "over-limit"]
)
async def test_batch_enforces_1000_operations_when_counting_change_set_members(
    client, count, status
):
    row_id = client.app.state.dataverse.all("accounts")[0]["accountid"]
    reads = [operation("GET", f"{API}/accounts({row_id})?$select=name")] * (count - 2)
    writes = change_set(
        *[operation("PATCH", f"{API}/accounts({row_id})", {"fax": str(n)}) for n in range(2)]
    )

    response = await send_batch(client, *reads, writes)

    assert response.status_code == status
    if status == 400:
        assert response.json()["error"]["message"].startswith("The number of requests")


async def test_change_set_refuses_get_operations(client):
    response = await send_batch(client, change_set(operation("GET", f"{API}/accounts")))

    assert response.status_code == 400
    assert "GET" in response.json()["error"]["message"]


async def test_change_set_fails_when_referencing_an_undeclared_content_id(client):
    response = await send_batch(
        client,
        change_set(
            operation(
                "POST",
                f"{API}/contacts",
                {"lastname": "c", "parentcustomerid_account@odata.bind": "$7"},
                content_id="1",
            )
        ),
    )

    parts = read_parts(response)
    assert response.status_code == 400
    assert (
        "Content-ID Reference: '$7' does not exist" in json.loads(parts[0].body)["error"]["message"]
    )


async def test_batch_without_boundary_is_refused(client):
    response = await client.post(
        f"{API}/$batch", content=b"{}", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400

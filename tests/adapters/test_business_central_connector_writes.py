"""BusinessCentralConnector writes through JSON ``$batch`` against the in-process BC emulator."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import httpx

from sandbox.business_central import EmulatorConfig
from sandbox.server import BusinessCentralLimits
from sync.models import ErrorClass, WriteKind, WriteRequest
from tests.adapters.test_business_central_connector import (
    RecordingTransport,
    Sandbox,
    open_sandbox,
)

CREATE, UPDATE, DELETE = WriteKind.CREATE, WriteKind.UPDATE, WriteKind.DELETE


class TimeoutAfterServerRan(httpx.AsyncBaseTransport):
    """Lets the first ``$batch`` run on the server, then loses its answer as a timeout would."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, failures: int = 1) -> None:
        self.inner = inner
        self.failures = failures

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path.endswith("/$batch") and self.failures > 0:
            self.failures -= 1
            await response.aclose()
            raise httpx.ReadTimeout("the answer never came", request=request)
        return response


def batch_items(request: httpx.Request) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(request.content)["requests"]
    return items


def names(sandbox: Sandbox, company_id: str) -> Counter[str]:
    return Counter(str(row["displayName"]) for row in sandbox.customers(company_id))


async def test_297_ok_and_3_typed_errors_in_input_order_when_300_mixed_writes_hold_3_bad():
    async with open_sandbox(records=200) as sandbox:
        company = sandbox.companies[0]
        rows = sandbox.customers(company)
        updated, deleted = rows[:100], rows[100:]
        requests = []
        for index in range(300):
            row = (updated if index % 3 == 1 else deleted)[index // 3]
            if index % 3 == 0:
                requests.append(WriteRequest(kind=CREATE, values={"displayName": f"New {index}"}))
            elif index % 3 == 1:
                requests.append(WriteRequest(
                    kind=UPDATE, record_id=row["id"], version=row["@odata.etag"],
                    values={"displayName": f"Updated {index}"},
                ))  # fmt: skip
            else:
                requests.append(
                    WriteRequest(kind=DELETE, record_id=row["id"], version=row["@odata.etag"])
                )
        sandbox.service.edit(company, "customers", str(updated[1]["id"]), {"city": "Oslo"})
        requests[150] = WriteRequest(kind=CREATE, values={"displayName": "x" * 101})
        requests[297] = WriteRequest(
            kind=CREATE, values={"displayName": "Twin", "number": updated[0]["number"]}
        )
        connector = sandbox.connector(company)

        outcomes = await connector.write("customers", requests)

        stored = {row["id"]: row for row in sandbox.customers(company)}
        counts = names(sandbox, company)
    assert [outcome.index for outcome in outcomes] == list(range(300))
    failed = {o.index: (o.error_class, o.error_code) for o in outcomes if not o.ok}
    assert failed == {
        4: (ErrorClass.PERMANENT, "Request_EntityChanged"),
        150: (ErrorClass.PERMANENT, "Application_StringExceededLength"),
        297: (ErrorClass.PERMANENT, "Internal_EntityWithSameKeyExists"),
    }
    assert all(outcomes[index].error_message for index in failed)
    for index, outcome in enumerate(outcomes):
        if index in failed:
            continue
        if requests[index].kind is DELETE:
            assert outcome.record_id not in stored
            continue
        row = stored[outcome.record_id]
        assert outcome.version == row["@odata.etag"]
        assert outcome.modified_at is not None
        assert row["displayName"] == requests[index].values["displayName"]
        assert counts[row["displayName"]] == 1
    assert stored[updated[1]["id"]]["displayName"] == updated[1]["displayName"]
    assert "Twin" not in counts


async def test_nothing_lost_or_duplicated_when_bc_answers_a_burst_of_429s():
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds  # the sandbox's windows slide on this clock: no real waiting
        await asyncio.sleep(0)

    limits = BusinessCentralLimits(max_requests=3, window_seconds=2)
    async with open_sandbox(records=40, limits=limits, monotonic=lambda: now[0]) as sandbox:
        company = sandbox.companies[0]
        rows = sandbox.customers(company)
        requests = [
            WriteRequest(kind=CREATE, values={"displayName": f"Burst {n}"}) for n in range(60)
        ]
        requests += [
            WriteRequest(kind=UPDATE, record_id=row["id"], version=row["@odata.etag"],
                         values={"city": "Bergen"})
            for row in rows
        ]  # fmt: skip
        connector = sandbox.connector(company, sleep=sleep, batch_size=10)

        outcomes = await connector.write("customers", requests)

        throttled = sandbox.apps.business_central.snapshot().count(status=429)
        counts = names(sandbox, company)
        cities = [row["city"] for row in sandbox.customers(company) if row["id"] in
                  {row["id"] for row in rows}]  # fmt: skip
    assert throttled > 0
    assert connector.accounting.throttled == throttled
    assert all(outcome.ok for outcome in outcomes)
    assert [outcome.index for outcome in outcomes] == list(range(100))
    assert all(counts[f"Burst {n}"] == 1 for n in range(60))
    assert cities == ["Bergen"] * 40


async def test_if_match_carries_version_or_star_when_updating_and_deleting():
    async with open_sandbox() as sandbox:
        company = sandbox.companies[0]
        rows = sandbox.customers(company)
        stale = str(rows[0]["@odata.etag"])
        sandbox.service.edit(company, "customers", str(rows[0]["id"]), {"city": "Oslo"})
        recorder: list[RecordingTransport] = []

        def record(inner):
            recorder.append(RecordingTransport(inner))
            return recorder[0]

        connector = sandbox.connector(company, transport=record)
        requests = [
            WriteRequest(kind=UPDATE, record_id=rows[0]["id"], version=stale, values={"city": "A"}),
            WriteRequest(kind=UPDATE, record_id=rows[1]["id"], values={"city": "B"}),
            WriteRequest(kind=DELETE, record_id=rows[2]["id"], version=rows[2]["@odata.etag"]),
            WriteRequest(kind=DELETE, record_id=rows[3]["id"], version=stale),
            WriteRequest(kind=DELETE, record_id=rows[4]["id"]),
        ]

        outcomes = await connector.write("customers", requests)

        stored = {row["id"]: row for row in sandbox.customers(company)}
    items = batch_items(recorder[0].requests[0])
    assert [item["headers"]["If-Match"] for item in items] == [
        stale, "*", rows[2]["@odata.etag"], stale, "*"
    ]  # fmt: skip
    assert [item["method"] for item in items] == ["PATCH", "PATCH", "DELETE", "DELETE", "DELETE"]
    assert [o.ok for o in outcomes] == [False, True, True, False, True]
    assert outcomes[0].error_code == outcomes[3].error_code == "Request_EntityChanged"
    assert stored[rows[0]["id"]]["city"] == "Oslo"
    assert stored[rows[1]["id"]]["city"] == "B"
    assert rows[2]["id"] not in stored
    assert rows[3]["id"] in stored
    assert rows[4]["id"] not in stored


async def test_batch_split_until_it_fits_when_bc_refuses_the_whole_batch():
    config = EmulatorConfig(max_batch_requests=10)
    async with open_sandbox(config=config) as sandbox:
        company = sandbox.companies[0]
        connector = sandbox.connector(company, batch_size=40)
        requests = [
            WriteRequest(kind=CREATE, values={"displayName": f"Split {n}"}) for n in range(40)
        ]

        outcomes = await connector.write("customers", requests)

        batches = sandbox.apps.business_central.snapshot().count(method="POST", kind="$batch")
        counts = names(sandbox, company)
    assert all(outcome.ok for outcome in outcomes)
    assert all(counts[f"Split {n}"] == 1 for n in range(40))
    assert batches == 1 + 2 + 4  # 40 refused, 2 x 20 refused, 4 x 10 accepted


async def test_create_not_sent_again_when_its_batch_timed_out_after_running():
    async with open_sandbox() as sandbox:
        company = sandbox.companies[0]
        rows = sandbox.customers(company)
        connector = sandbox.connector(company, transport=TimeoutAfterServerRan)
        requests = [
            WriteRequest(kind=CREATE, values={"displayName": "Maybe 1"}),
            WriteRequest(kind=UPDATE, record_id=rows[0]["id"], values={"city": "Turku"}),
            WriteRequest(kind=CREATE, values={"displayName": "Maybe 2"}),
            WriteRequest(kind=DELETE, record_id=rows[1]["id"], version=rows[1]["@odata.etag"]),
            WriteRequest(kind=UPDATE, record_id=rows[2]["id"], values={"city": "Espoo"}),
        ]

        outcomes = await connector.write("customers", requests)

        stored = {row["id"]: row for row in sandbox.customers(company)}
        counts = names(sandbox, company)
    assert [(o.ok, o.error_class, o.error_code) for o in outcomes] == [
        (False, ErrorClass.TRANSIENT, "OutcomeUnknown"),
        (True, None, ""),
        (False, ErrorClass.TRANSIENT, "OutcomeUnknown"),
        (True, None, ""),
        (True, None, ""),
    ]
    assert counts["Maybe 1"] == counts["Maybe 2"] == 1  # ran once, never twice
    assert stored[rows[0]["id"]]["city"] == "Turku"
    assert stored[rows[2]["id"]]["city"] == "Espoo"
    assert rows[1]["id"] not in stored


async def test_request_refused_unsent_when_bc_cannot_do_it():
    async with open_sandbox() as sandbox:
        connector = sandbox.connector(sandbox.companies[0])
        requests = [
            WriteRequest(kind=WriteKind.UPSERT, record_id="6f1f3f0e-0000-4000-8000-000000000001"),
            WriteRequest(kind=UPDATE, values={"city": "Nowhere"}),
            WriteRequest(kind=DELETE, record_id="x) or (1"),
        ]

        outcomes = await connector.write("customers", requests)

        sent = sandbox.apps.business_central.snapshot().total
    assert [(o.index, o.error_class, o.error_code) for o in outcomes] == [
        (0, ErrorClass.PERMANENT, "InvalidWriteRequest"),
        (1, ErrorClass.PERMANENT, "InvalidWriteRequest"),
        (2, ErrorClass.PERMANENT, "InvalidWriteRequest"),
    ]
    assert sent == 0


async def test_batch_not_split_when_bc_answers_404_for_the_batch_endpoint():
    """The emulator has no ``$batch`` on custom APIs; real BC has, so this stands for any 404."""
    async with open_sandbox() as sandbox:
        connector = sandbox.connector(sandbox.companies[0])
        requests = [
            WriteRequest(kind=CREATE, values={"code": f"SA{n}", "name": f"Agent {n}"})
            for n in range(8)
        ]

        outcomes = await connector.write("shippingAgents", requests, api="bcsync/integration/v1.0")

        sent = sandbox.apps.business_central.snapshot().count(method="POST")
    assert sent == 1
    assert {(o.error_class, o.error_code) for o in outcomes} == {
        (ErrorClass.PERMANENT, "BadRequest_ResourceNotFound")
    }

"""DataverseConnector writes against the Dataverse emulator: bulk, isolation, $batch, deletes."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from sandbox.server import DEFAULT_CLIENT_ID, FaultSettings, SandboxSettings
from sync.connectors import AdaptiveLimiter, BearerTokenAuth, ServiceClient, StaticTokenProvider
from sync.connectors.dataverse import DataverseConnector
from sync.errors import AuthError
from sync.models.record import WriteKind, WriteOutcome, WriteRequest
from sync.models.run import ErrorClass
from tests.adapters.dataverse_environment import (
    BASE_URL,
    Environment,
    Wrapper,
    open_environment,
)

NAMESPACE = uuid.UUID("6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f")
STRING_TOO_LONG = "0x80044331"
OBJECT_DOES_NOT_EXIST = "0x80040217"
VERSION_MISMATCH = "0x80060882"


def account_id(number: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"account-{number}"))


def create(number: int, **values) -> WriteRequest:
    values = {"name": f"Account {number}", "accountnumber": f"N{number}", **values}
    return WriteRequest(kind=WriteKind.CREATE, record_id=account_id(number), values=values)


async def write_accounts(env: Environment, requests: list[WriteRequest]) -> list[WriteOutcome]:
    return await env.connector.write("accounts", "account", "accountid", requests)


def failures(outcomes: list[WriteOutcome]) -> dict[int, WriteOutcome]:
    return {outcome.index: outcome for outcome in outcomes if not outcome.ok}


def thousand_creates_with_three_bad() -> list[WriteRequest]:
    requests = [create(number) for number in range(1000)]
    requests[17] = create(17, name="x" * 161)
    missing_contact = "9d0c7a51-0000-4000-8000-00000000dead"
    requests[500] = create(500, **{"primarycontactid@odata.bind": f"/contacts({missing_contact})"})
    requests[998] = create(998, nosuchcolumn=1)
    return requests


class HidesFailingTarget(Wrapper):
    """Answers as a Dataverse would that does not name the failing bulk target."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = re.sub(rb" \(Targets\[\d+\]\)", b"", b"".join(chunks))
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class WithoutBulkMessages(Wrapper):
    """Answers bulk messages as Dataverse does for a table that does not support them."""

    bulk_requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.endswith(("UpsertMultiple", "UpdateMultiple")):
            type(self).bulk_requests += 1
            segment = path.rsplit("/", 1)[1]
            error = {
                "code": "0x80060888",
                "message": f"Resource not found for the segment '{segment}'.",
            }
            await JSONResponse({"error": error}, 404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def test_bad_records_get_typed_errors_in_input_order_when_1000_upserts_hold_3_bad():
    async with open_environment(records=5) as env:
        before = env.sandbox.count("accounts")

        outcomes = await write_accounts(env, thousand_creates_with_three_bad())

        assert [outcome.index for outcome in outcomes] == list(range(1000))
        assert sum(outcome.ok for outcome in outcomes) == 997
        failed = failures(outcomes)
        assert sorted(failed) == [17, 500, 998]
        assert {index: (o.error_class, o.error_code) for index, o in failed.items()} == {
            17: (ErrorClass.PERMANENT, STRING_TOO_LONG),
            500: (ErrorClass.PERMANENT, OBJECT_DOES_NOT_EXIST),
            998: (ErrorClass.PERMANENT, "HTTP 400"),
        }
        assert "nosuchcolumn" in failed[998].error_message
        assert all("Targets[" not in outcome.error_message for outcome in failed.values())
        assert all(o.record_id == account_id(o.index) for o in outcomes)
        assert env.sandbox.count("accounts") == before + 997
        assert env.sandbox.get("accounts", account_id(17)) is None
        # One request for the chunk, then one per record set aside.
        assert env.client.accounting.writes == 4


async def test_rows_not_duplicated_when_the_same_creates_run_twice():
    async with open_environment(records=5) as env:
        requests = thousand_creates_with_three_bad()
        await write_accounts(env, requests)
        after_first = env.sandbox.count("accounts")

        outcomes = await write_accounts(env, requests)

        assert env.sandbox.count("accounts") == after_first
        assert sorted(failures(outcomes)) == [17, 500, 998]
        assert env.sandbox.get("accounts", account_id(3))["name"] == "Account 3"


async def test_failing_records_isolated_by_halving_when_service_names_no_target():
    async with open_environment(records=5, wrap=HidesFailingTarget, bulk_size=64) as env:
        requests = [create(number) for number in range(64)]
        requests[5] = create(5, name="y" * 200)
        requests[40] = create(40, creditlimit=-1)

        outcomes = await write_accounts(env, requests)

        assert sorted(failures(outcomes)) == [5, 40]
        assert failures(outcomes)[40].error_code == "0x8004431a"
        assert sum(outcome.ok for outcome in outcomes) == 62
        # Halving finds two culprits among 64 in at most 2 * 2 * log2(64) + 1 requests.
        assert env.client.accounting.writes <= 25


async def test_writes_go_through_batch_when_table_does_not_support_bulk_messages():
    WithoutBulkMessages.bulk_requests = 0
    async with open_environment(records=5, wrap=WithoutBulkMessages) as env:
        requests = [create(number) for number in range(10)]
        requests[3] = create(3, name="z" * 300)

        first = await write_accounts(env, requests)
        second = await write_accounts(env, [create(20), create(21)])

        assert sorted(failures(first)) == [3]
        assert failures(first)[3].error_code == STRING_TOO_LONG
        assert all(outcome.ok for outcome in second)
        stored = env.sandbox.get("accounts", account_id(20))
        assert second[0].version == stored["@odata.etag"]
        assert second[0].modified_at is not None
        assert env.sandbox.count("accounts") == 5 + 9 + 2
        assert WithoutBulkMessages.bulk_requests == 1  # the answer is remembered per table


async def test_update_without_version_fails_only_for_the_missing_row():
    async with open_environment(records=5) as env:
        rows = env.sandbox.all("accounts")
        missing = account_id(999)
        requests = [
            WriteRequest(
                kind=WriteKind.UPDATE, record_id=row["accountid"], values={"telephone1": "555-0100"}
            )
            for row in rows
        ]
        requests.insert(
            2,
            WriteRequest(
                kind=WriteKind.UPDATE, record_id=missing, values={"telephone1": "555-0199"}
            ),
        )

        outcomes = await write_accounts(env, requests)

        assert sorted(failures(outcomes)) == [2]
        assert failures(outcomes)[2].error_code == OBJECT_DOES_NOT_EXIST
        assert env.sandbox.get("accounts", missing) is None
        assert {row["telephone1"] for row in env.sandbox.all("accounts")} == {"555-0100"}


async def test_conditional_update_returns_new_version_when_version_matches():
    async with open_environment(records=5) as env:
        current, stale = env.sandbox.all("accounts")[:2]
        env.sandbox.edit("accounts", stale["accountid"], {"telephone1": "changed by a user"})
        requests = [
            WriteRequest(
                kind=WriteKind.UPDATE,
                record_id=row["accountid"],
                values={"name": "Synced"},
                version=row["@odata.etag"],
            )
            for row in (current, stale)
        ]

        ok, refused = await write_accounts(env, requests)

        assert ok.ok
        assert ok.version == env.sandbox.get("accounts", current["accountid"])["@odata.etag"]
        assert ok.version != current["@odata.etag"]
        assert (refused.error_class, refused.error_code) == (ErrorClass.PERMANENT, VERSION_MISMATCH)
        assert env.sandbox.get("accounts", stale["accountid"])["name"] == stale["name"]


async def test_delete_gets_412_when_version_is_stale():
    async with open_environment(records=6) as env:
        rows = env.sandbox.all("accounts")
        env.sandbox.edit("accounts", rows[1]["accountid"], {"telephone1": "edited meanwhile"})
        env.sandbox.delete("accounts", rows[2]["accountid"])
        requests = [
            WriteRequest(
                kind=WriteKind.DELETE,
                record_id=rows[0]["accountid"],
                version=rows[0]["@odata.etag"],
            ),
            WriteRequest(
                kind=WriteKind.DELETE,
                record_id=rows[1]["accountid"],
                version=rows[1]["@odata.etag"],
            ),
            WriteRequest(kind=WriteKind.DELETE, record_id=rows[2]["accountid"]),
            WriteRequest(kind=WriteKind.DELETE, record_id=rows[3]["accountid"]),
        ]

        outcomes = await write_accounts(env, requests)

        assert [outcome.ok for outcome in outcomes] == [True, False, True, True]
        assert outcomes[1].error_code == VERSION_MISMATCH
        assert outcomes[1].error_class is ErrorClass.PERMANENT
        remaining = {row["accountid"] for row in env.sandbox.all("accounts")}
        assert rows[1]["accountid"] in remaining
        assert not remaining & {rows[0]["accountid"], rows[3]["accountid"]}
        assert env.client.accounting.batches == 1


@pytest.mark.parametrize(
    "record_id", [None, "not-a-guid"], ids=["missing id", "id that is no guid"]
)
async def test_write_refused_without_a_request_when_record_id_is_no_guid(record_id):
    async with open_environment(records=2) as env:
        request = WriteRequest(kind=WriteKind.CREATE, record_id=record_id, values={"name": "X"})

        (outcome,) = await write_accounts(env, [request])

        assert (outcome.error_class, outcome.error_code) == (
            ErrorClass.PERMANENT,
            "InvalidRecordId",
        )
        assert env.requests_served() == 0


async def test_chunk_gets_transient_errors_without_splitting_when_service_stays_unavailable():
    outage = SandboxSettings(
        records=0, faults=FaultSettings(error_rate=1.0, paths=("*UpsertMultiple",))
    )
    async with open_environment(records=2, settings=outage) as env:
        outcomes = await write_accounts(env, [create(number) for number in range(10)])

        assert {outcome.error_class for outcome in outcomes} == {ErrorClass.TRANSIENT}
        assert env.client.accounting.writes == 1  # retried, then given up; never halved
        assert env.sandbox.count("accounts") == 2


async def test_outcome_echoes_record_id_as_written_when_it_is_upper_case():
    async with open_environment(records=2) as env:
        upper = account_id(1).upper()
        request = WriteRequest(kind=WriteKind.UPSERT, record_id=upper, values={"name": "Up"})

        (outcome,) = await write_accounts(env, [request])

        assert (outcome.ok, outcome.record_id) == (True, upper)
        assert env.sandbox.get("accounts", account_id(1))["name"] == "Up"


async def test_write_raises_auth_error_when_token_is_refused():
    async with open_environment(records=2) as env:
        provider = StaticTokenProvider(
            lambda scope: env.apps.token_issuer.issue(DEFAULT_CLIENT_ID, scope)
        )
        wrong_audience = BearerTokenAuth(provider, "https://elsewhere.crm.dynamics.com/.default")
        async with ServiceClient(
            service="dataverse",
            base_url=BASE_URL,
            auth=wrong_audience,
            limiter=AdaptiveLimiter(initial=2, maximum=2),
            transport=httpx.ASGITransport(app=env.apps.dataverse),
        ) as client:
            connector = DataverseConnector(client, bulk_size=2)

            with pytest.raises(AuthError):
                await connector.write(
                    "accounts", "account", "accountid", [create(number) for number in range(6)]
                )

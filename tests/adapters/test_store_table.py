"""What the Table Storage store adds to the contract: Azurite specifics and failure messages."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from azure.core.credentials import AccessToken

from sync.errors import ConfigError, StoreError
from sync.models import Side, Watermark
from sync.store import TableStateStore
from tests.adapters.conftest import CONNECTION_VARIABLE, azurite_connection_string
from tests.adapters.store_samples import SCOPE, all_couplings, coupling


@pytest.fixture
async def bare_store() -> AsyncIterator[TableStateStore]:
    """A Table Storage store whose tables were never created."""
    prefix = "t" + uuid.uuid4().hex[:8]
    async with TableStateStore.from_connection_string(
        azurite_connection_string(), table_prefix=prefix
    ) as store:
        yield store


CALLS_ON_MISSING_TABLES: dict[str, Callable[[TableStateStore], Awaitable[object]]] = {
    "get": lambda store: store.couplings.get_by_bc_id(SCOPE, "CUSTOMER", "bc-1"),
    "put": lambda store: store.couplings.put_couplings([coupling(1)]),
    "load": all_couplings,
    "watermark": lambda store: store.watermarks.save_watermark(
        Watermark(scope=SCOPE, mapping="CUSTOMER", side=Side.BC)
    ),
    "lease": lambda store: store.leases.acquire_lease("CUSTOMER", "timer", timedelta(1)),
    "errors": lambda store: store.runs.list_errors(SCOPE, "run-1"),
}


@pytest.mark.azurite
@pytest.mark.parametrize("call", CALLS_ON_MISSING_TABLES.values(), ids=CALLS_ON_MISSING_TABLES)
async def test_store_error_names_ensure_tables_when_tables_are_missing(
    bare_store: TableStateStore, call: Callable[[TableStateStore], Awaitable[object]]
) -> None:
    with pytest.raises(StoreError, match="ensure_tables"):
        await call(bare_store)


@pytest.mark.azurite
async def test_tables_created_once_when_ensured_twice(bare_store: TableStateStore) -> None:
    await bare_store.ensure_tables()
    await bare_store.ensure_tables()
    try:
        await bare_store.couplings.put_couplings([coupling(1)])
        assert await all_couplings(bare_store) == {"bc-00001": coupling(1)}
    finally:
        await bare_store.delete_tables()


@pytest.mark.azurite
async def test_large_couplings_split_over_transactions_when_payload_is_large(
    bare_store: TableStateStore,
) -> None:
    # 60 couplings of ~40 KB would make one 2.4 MB transaction; aiohttp warns above 1 MiB
    # (an error under pytest) and Azure refuses more than 4 MiB.
    couplings = [coupling(n, base_bc={"notes": f"{n} " + "ü" * 20_000}) for n in range(60)]
    await bare_store.ensure_tables()
    try:
        await bare_store.couplings.put_couplings(couplings)
        assert await all_couplings(bare_store) == {c.bc_id: c for c in couplings}
    finally:
        await bare_store.delete_tables()


def test_azurite_tests_skip_when_connection_string_is_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(CONNECTION_VARIABLE, raising=False)
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception, match=CONNECTION_VARIABLE):
        azurite_connection_string()


def test_azurite_tests_fail_when_connection_string_is_unset_in_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(CONNECTION_VARIABLE, raising=False)
    monkeypatch.setenv("CI", "true")

    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        azurite_connection_string()


class UnusedCredential:  # implements AsyncTokenCredential; building a client asks for no token
    closed = False

    async def get_token(self, *_scopes: str, **_options: object) -> AccessToken:
        raise AssertionError("no request expected")

    async def close(self) -> None:
        self.closed = True

    async def __aenter__(self) -> UnusedCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        pass


async def test_tables_prefixed_when_store_built_from_account_url() -> None:
    url = "https://contoso.table.core.windows.net"
    credential = UnusedCredential()

    async with TableStateStore.from_account_url(url, credential, table_prefix="prod") as store:
        assert store.table_names == (
            "prodmappings",
            "prodcouplings",
            "prodwatermarks",
            "prodleases",
            "prodruns",
            "prodrunerrors",
        )
    assert credential.closed


def test_config_error_when_connection_string_is_malformed() -> None:
    with pytest.raises(ConfigError, match="connection string"):
        TableStateStore.from_connection_string("AccountName=;nonsense")

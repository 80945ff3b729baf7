"""The state store in Azure Table Storage: six tables behind one shared async client.

Key layout (every key part is escaped by ``table_keys.escape_key``; ``|`` joins parts)::

    table       PartitionKey          RowKey                         holds
    mappings    <scope>               mappingset                     MappingSet JSON
    couplings   <scope>|<mapping>     bc|<bc id>                     the coupling
    couplings   <scope>|<mapping>     dv|<dataverse id>              BcId: index for point reads
    watermarks  <scope>               <mapping>|<side>               ModifiedAt, DeltaToken
    leases      lease                 <name>                         Owner, ExpiresAt
    runs        <scope>               at|<inverted start>|<run id>   the run (newest first)
    runs        <scope>               id|<run id>                    ListedAs: the RowKey above
    runerrors   <scope>|<run id>      <ns sequence>-<random>         one per-record error

An example coupling entity, for scope ``contoso:production:5d1c``, mapping ``CUSTOMER`` and
BC id ``C/001`` (properties whose value is None are not stored)::

    {
        "PartitionKey": "contoso:production:5d1c|CUSTOMER",
        "RowKey": "bc|C~2F001",
        "Scope": "contoso:production:5d1c", "Mapping": "CUSTOMER",
        "BcId": "C/001", "DataverseId": "8f1e0c2a-...",
        "BaseBc": '{"displayName": "Adatum"}', "BaseDataverse": '{"name": "Adatum"}',
        "BcVersion": 'W/"JzE5OzE..."', "BcModifiedAt": datetime(2024, 5, 1, 8, 0, tzinfo=UTC),
        "LastResult": "success", "LastSyncedAt": datetime(...), "FailureCount": 0,
        "Skipped": False,
    }

Texts longer than one property allows are split over ``Name``, ``Name_2``...; see
``table_entity``. Writes of many entities are packed into transactions of one partition and at
most 100 operations; see ``table_batch``.
"""

from __future__ import annotations

from types import TracebackType

from azure.core.credentials_async import AsyncTokenCredential
from azure.data.tables.aio import TableServiceClient

from sync.errors import ConfigError
from sync.ports import (
    Clock,
    CouplingStore,
    LeaseStore,
    MappingStore,
    RunStore,
    WatermarkStore,
)
from sync.store.table_batch import wait_all
from sync.store.table_couplings import TableCouplingStore
from sync.store.table_entity import azure_errors
from sync.store.table_leases import TableLeaseStore
from sync.store.table_mappings import TableMappingStore
from sync.store.table_runs import TableRunStore
from sync.store.table_watermarks import TableWatermarkStore

TABLES = ("mappings", "couplings", "watermarks", "leases", "runs", "runerrors")
"""Every table the store uses, before the prefix."""


class TableStateStore:
    """All state stores over one ``TableServiceClient``; closing it closes the connections.

    Example::

        async with TableStateStore.from_connection_string(conn) as store:
            await store.ensure_tables()
            await store.couplings.put_couplings(couplings)

    Args:
        service: The async Table Storage client, owned by this store from now on.
        table_prefix: Prepended to every table name (isolates tests and deployments).
        clock: Decides lease expiry; the system clock unless a test passes its own.
    """

    def __init__(
        self, service: TableServiceClient, *, table_prefix: str = "", clock: Clock | None = None
    ) -> None:
        self._service = service
        self._credential: AsyncTokenCredential | None = None
        self.table_names = tuple(table_prefix + name for name in TABLES)
        self.mappings: MappingStore = TableMappingStore(service=service, table_prefix=table_prefix)
        self.couplings: CouplingStore = TableCouplingStore(
            service=service, table_prefix=table_prefix
        )
        self.watermarks: WatermarkStore = TableWatermarkStore(
            service=service, table_prefix=table_prefix
        )
        self.leases: LeaseStore = TableLeaseStore(
            service=service, table_prefix=table_prefix, clock=clock
        )
        self.runs: RunStore = TableRunStore(service=service, table_prefix=table_prefix)

    @classmethod
    def from_connection_string(
        cls, conn: str, *, table_prefix: str = "", clock: Clock | None = None
    ) -> TableStateStore:
        """A store for a storage connection string (Azurite, or an account key)."""
        try:
            service = TableServiceClient.from_connection_string(conn)
        except ValueError as exc:
            raise ConfigError(f"the storage connection string is malformed: {exc}") from exc
        return cls(service, table_prefix=table_prefix, clock=clock)

    @classmethod
    def from_account_url(
        cls,
        url: str,
        credential: AsyncTokenCredential,
        *,
        table_prefix: str = "",
        clock: Clock | None = None,
    ) -> TableStateStore:
        """A store for ``https://<account>.table.core.windows.net`` with an Entra ID credential.

        The store owns the credential from now on: ``close()`` closes it too.
        """
        try:
            service = TableServiceClient(endpoint=url, credential=credential)
        except ValueError as exc:
            raise ConfigError(f"the table endpoint {url!r} is not usable: {exc}") from exc
        store = cls(service, table_prefix=table_prefix, clock=clock)
        store._credential = credential
        return store

    async def ensure_tables(self) -> None:
        """Create the tables that do not exist yet (safe to call on every start)."""
        with azure_errors("create the state tables"):
            await wait_all(self._service.create_table_if_not_exists(n) for n in self.table_names)

    async def delete_tables(self) -> None:
        """Delete every table of this store and all it holds (tests and teardown only)."""
        with azure_errors("delete the state tables"):
            await wait_all(self._service.delete_table(name) for name in self.table_names)

    async def close(self) -> None:
        """Close the client, its connections and the credential it was built with."""
        await self._service.close()
        if self._credential is not None:
            await self._credential.close()

    async def __aenter__(self) -> TableStateStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

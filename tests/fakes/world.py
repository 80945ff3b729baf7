"""A small world for engine tests: two in-memory sides, in-memory state and two mappings."""

from __future__ import annotations

from datetime import UTC, datetime

from sync.engine.record_operations import RecordOperations
from sync.engine.run_parts import RunOptions, Stores
from sync.engine.runner import Runner
from sync.models import FieldMapping, Lookup, MappingSet, RunMode, Scope, Side, TableMapping
from tests.fakes.sides import InMemorySide, SteppingClock
from tests.fakes.store import InMemoryStateStore

SCOPE = Scope(tenant="contoso", environment="production", company_id="company-a")

CURRENCY = TableMapping(
    name="CURRENCY",
    bc_entity="currencies",
    dataverse_table="transactioncurrency",
    dataverse_entity_set="transactioncurrencies",
    direction="to_dataverse",
    fields=(
        FieldMapping(bc_field="code", dataverse_field="isocurrencycode", direction="to_dataverse"),
        FieldMapping(
            bc_field="displayName", dataverse_field="currencyname", direction="to_dataverse"
        ),
    ),
    sync_only_coupled=False,
)
CUSTOMER = TableMapping(
    name="CUSTOMER",
    bc_entity="customers",
    dataverse_table="account",
    dataverse_entity_set="accounts",
    direction="bidirectional",
    fields=(
        FieldMapping(bc_field="displayName", dataverse_field="name"),
        FieldMapping(bc_field="city", dataverse_field="address1_city"),
        FieldMapping(
            bc_field="currencyCode",
            dataverse_field="transactioncurrencyid",
            lookup=Lookup(mapping="CURRENCY", bc_key="code"),
        ),
    ),
    depends_on=("CURRENCY",),
)
MAPPINGS = MappingSet(mappings=(CURRENCY, CUSTOMER))


class World:
    def __init__(self, options: RunOptions | None = None):
        self.clock = SteppingClock(datetime(2024, 5, 1, 8, 0, tzinfo=UTC))
        self.bc = InMemorySide(Side.BC, self.clock, page_size=7)
        self.dataverse = InMemorySide(Side.DATAVERSE, self.clock, page_size=7)
        self.state = InMemoryStateStore(clock=self.clock)
        self.options = options or RunOptions()

    def record_operations(self) -> RecordOperations:
        return RecordOperations(self.runner().parts)

    def runner(self, **kwargs) -> Runner:
        stores = Stores(
            mappings=self.state.mappings,
            couplings=self.state.couplings,
            watermarks=self.state.watermarks,
            leases=self.state.leases,
            runs=self.state.runs,
        )
        return Runner(
            scope=SCOPE,
            bc=self.bc,
            dataverse=self.dataverse,
            stores=stores,
            clock=self.clock,
            options=self.options,
            **kwargs,
        )

    async def run(self, mode=RunMode.MODIFIED, **kwargs):
        return await self.runner().run(mode, **kwargs)

    def seed(self, customers: int = 20):
        eur = self.bc.put(CURRENCY, {"code": "EUR", "displayName": "Euro"})
        self.bc.put(CURRENCY, {"code": "USD", "displayName": "US Dollar"})
        for n in range(customers):
            self.bc.put(
                CUSTOMER, {"displayName": f"Customer {n}", "city": "Aarhus", "currencyCode": "EUR"}
            )
        return eur

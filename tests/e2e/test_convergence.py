"""Convergence: any interleaving of users' edits on both sides and runs ends in agreement.

Hypothesis plays users creating, editing and deleting customers in BC and accounts in Dataverse
between incremental runs, under every conflict and deletion policy. After a final two runs with
no edits, every coupled pair agrees on every mapped field (or the disagreement is a recorded
conflict), couplings pair ids one to one, and no record exists twice on a side.

The first properties run over the in-memory fakes (``tests/fakes``), where an example takes a
few milliseconds; each customer carries a token in a mapped field users never edit (``number``
⇄ ``accountnumber``), so a duplicate shows as a token held by two records of one side. The last
one runs over the sandbox emulators (state in memory, three records per table), with the token
in ``email`` ⇄ ``emailaddress1``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sync.engine.planner import dataverse_id_for
from sync.engine.run_parts import RunOptions
from sync.models import (
    ConflictPolicy,
    Coupling,
    DeletionPolicy,
    FieldMapping,
    MappingSet,
    RunMode,
    Side,
    TableMapping,
)
from sync.settings import RunLimits
from tests.e2e.conftest import SandboxWorld, close_world, open_world
from tests.fakes.world import CURRENCY, CUSTOMER, SCOPE, World

TOKEN = FieldMapping(bc_field="number", dataverse_field="accountnumber")
NAMES = ("Adatum", "Fabrikam", "Contoso")
CITIES = ("Aarhus", "Odense", "Bergen")
CURRENCIES = ("EUR", "USD", "")
COLUMN = {"displayName": "name", "city": "address1_city", "currencyCode": "transactioncurrencyid"}

sides = st.sampled_from([Side.BC, Side.DATAVERSE])
pick = st.integers(min_value=0, max_value=30)
actions = st.one_of(
    st.tuples(st.just("create"), sides, pick, pick, pick),
    st.tuples(st.just("edit"), sides, pick, st.sampled_from(sorted(COLUMN)), pick),
    st.tuples(st.just("delete"), sides, pick),
    st.tuples(st.just("run")),
)


@dataclass
class Convergence:
    """One example: the fake world, its mapping, and the currency rows by code."""

    world: World
    mapping: TableMapping
    currency_rows: dict[str, str]
    tokens: int = 0

    async def play(self, action: tuple) -> None:
        kind, *args = action
        if kind == "run":
            await self.world.run()
        elif kind == "create":
            self.create(*args)
        elif kind == "edit":
            self.edit(*args)
        else:
            self.delete(*args)

    def create(self, side: Side, name: int, city: int, currency: int) -> None:
        self.tokens += 1
        values = {
            "displayName": NAMES[name % len(NAMES)],
            "city": CITIES[city % len(CITIES)],
            "currencyCode": CURRENCIES[currency % len(CURRENCIES)],
            "number": f"T{self.tokens}",
        }
        if side is Side.BC:
            self.world.bc.put(self.mapping, values)
        else:
            self.world.dataverse.put(self.mapping, self.as_row(values))

    def edit(self, side: Side, which: int, field: str, value: int) -> None:
        record = self.pick(side, which)
        if record is None:
            return
        pool = {"displayName": NAMES, "city": CITIES, "currencyCode": CURRENCIES}[field]
        values = {field: pool[value % len(pool)]}
        if side is Side.BC:
            self.world.bc.put(self.mapping, values, record)
        else:
            self.world.dataverse.put(self.mapping, self.as_row(values), record)

    def delete(self, side: Side, which: int) -> None:
        record = self.pick(side, which)
        if record is not None:
            (self.world.bc if side is Side.BC else self.world.dataverse).remove(
                self.mapping, record
            )

    def pick(self, side: Side, which: int) -> str | None:
        table = (self.world.bc if side is Side.BC else self.world.dataverse).table(self.mapping)
        ids = sorted(table)
        return ids[which % len(ids)] if ids else None

    def as_row(self, values: dict) -> dict:
        row: dict = {}
        for field, value in values.items():
            if field == "currencyCode":
                row["_transactioncurrencyid_value"] = self.currency_rows.get(value)
            else:
                row[COLUMN.get(field, "accountnumber")] = value
        return row


async def open_convergence(conflicts: str, deletions: str, overlap: int) -> Convergence:
    world = World(RunOptions(overlap=timedelta(seconds=overlap)))
    mapping = TableMapping.model_validate(
        CUSTOMER.model_dump()
        | {
            "fields": (*CUSTOMER.model_dump()["fields"], TOKEN.model_dump()),
            "sync_only_coupled": False,
            "conflict_policy": conflicts,
            "deletion_policy": deletions,
        }
    )
    await world.state.mappings.save_mappings(SCOPE.key, MappingSet(mappings=(CURRENCY, mapping)))
    currencies = {
        code: world.bc.put(CURRENCY, {"code": code, "displayName": code}) for code in ("EUR", "USD")
    }
    rows = {code: dataverse_id_for(SCOPE.key, "CURRENCY", r.id) for code, r in currencies.items()}
    example = Convergence(world=world, mapping=mapping, currency_rows=rows)
    for n in range(3):
        example.create(Side.BC if n % 2 else Side.DATAVERSE, n, n, n)
    result = await world.run(RunMode.FULL)
    assert result.run.counters.failed == 0, result.errors
    return example


async def recorded_errors(world: World) -> dict[str, set[str]]:
    """Error codes ever recorded, by record id (either side's)."""
    codes: dict[str, set[str]] = {}
    for errors in world.state.runs.errors.values():
        for error in errors:
            codes.setdefault(error.record_id.lower(), set()).add(error.code)
    return codes


def disagreements(example: Convergence, bc, row) -> list[str]:
    differing = []
    for field, column in COLUMN.items():
        bc_value = bc.values.get(field) or None
        if field == "currencyCode":
            row_value = row.values.get("_transactioncurrencyid_value")
            bc_value = example.currency_rows.get(bc_value) if bc_value else None
        else:
            row_value = row.values.get(column) or None
        if bc_value != row_value:
            differing.append(field)
    if bc.values.get("number") != row.values.get("accountnumber"):
        differing.append("number")
    return differing


async def assert_converged(example: Convergence) -> None:
    world, mapping = example.world, example.mapping
    couplings: list[Coupling] = [
        c async for c in world.state.couplings.load_couplings(SCOPE.key, mapping.name)
    ]
    # Couplings pair ids one to one.
    for ids in ([c.bc_id for c in couplings], [c.dataverse_id for c in couplings]):
        assert len(ids) == len(set(ids)), f"an id is coupled twice: {couplings}"
    customers, accounts = world.bc.table(mapping), world.dataverse.table(mapping)
    # No record exists twice on a side.
    for records, key in ((customers, "number"), (accounts, "accountnumber")):
        tokens = [r.values.get(key) for r in records.values()]
        assert len(tokens) == len(set(tokens)), f"duplicates: {sorted(map(str, tokens))}"
    errors = await recorded_errors(world)
    for coupling in couplings:
        bc, row = customers.get(coupling.bc_id), accounts.get(coupling.dataverse_id)
        noted = errors.get(coupling.bc_id.lower(), set()) | errors.get(
            coupling.dataverse_id.lower(), set()
        )
        if bc is None or row is None:
            # Only the "none" policy keeps a pair whose record is gone, and it says so. A pair
            # gone on both sides is kept under any policy for now (see the test below).
            if bc is not None or row is not None:
                assert mapping.deletion_policy is DeletionPolicy.NONE, (coupling, bc, row)
            assert "CoupledRecordDeleted" in noted, (coupling, noted)
            continue
        differing = disagreements(example, bc, row)
        if differing:
            assert mapping.conflict_policy is ConflictPolicy.NONE, (differing, bc, row)
            assert "Conflict" in noted, (differing, bc, row, noted)
    coupled_bc = {c.bc_id for c in couplings}
    coupled_rows = {c.dataverse_id for c in couplings}
    if mapping.deletion_policy is not DeletionPolicy.REMOVE_COUPLING:
        # Every record found its counterpart (only a removed coupling leaves a survivor alone).
        assert set(customers) <= coupled_bc, "a BC customer was never created in Dataverse"
        assert set(accounts) <= coupled_rows, "a Dataverse account was never created in BC"


async def converge(conflicts: str, deletions: str, overlap: int, plays: list[tuple]) -> None:
    example = await open_convergence(conflicts, deletions, overlap)
    for action in plays:
        await example.play(action)
    for _ in range(2):
        await example.world.run()
    await assert_converged(example)


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""A fake example takes a few milliseconds, so many of them fit in a second or two."""


@PROPERTY
@given(
    conflicts=st.sampled_from([p.value for p in ConflictPolicy]),
    deletions=st.sampled_from(["none", "remove_coupling", "propagate"]),
    overlap=st.sampled_from([0, 120]),
    plays=st.lists(actions, max_size=25),
)
def test_sides_agree_without_duplicates_when_random_edits_and_runs_interleave(
    conflicts, deletions, overlap, plays
):
    asyncio.run(converge(conflicts, deletions, overlap, plays))


@PROPERTY
@given(
    conflicts=st.sampled_from([p.value for p in ConflictPolicy]),
    overlap=st.sampled_from([0, 120]),
    plays=st.lists(actions, max_size=25),
)
@example(conflicts="none", overlap=0, plays=[("delete", Side.BC, 0)])
def test_sides_agree_without_duplicates_when_deletions_are_restored(conflicts, overlap, plays):
    asyncio.run(converge(conflicts, "restore", overlap, plays))


# --- the same over the sandbox emulators -------------------------------------------------------

SANDBOX_FIELDS = {"displayName": "name", "city": "address1_city", "phoneNumber": "telephone1"}
"""What users edit in the sandbox; ``email`` ⇄ ``emailaddress1`` carries the token instead."""

sandbox_actions = st.one_of(
    st.tuples(st.just("create"), sides, pick, pick),
    st.tuples(st.just("edit"), sides, pick, st.sampled_from(sorted(SANDBOX_FIELDS)), pick),
    # BC deletions show only when the coupled row changes later (BC has no tombstones), so a
    # deletion nobody follows up on legitimately stays unseen; Dataverse deletes are tracked.
    st.tuples(st.just("delete"), st.just(Side.DATAVERSE), pick),
    st.tuples(st.just("run")),
)


@dataclass
class SandboxConvergence:
    """One example over the emulators: CUSTOMER of the first company, state in memory."""

    world: SandboxWorld
    currency_row: str
    tokens: int = 0

    async def play(self, action: tuple) -> None:
        kind, *args = action
        self.world.clock.advance(timedelta(milliseconds=700))
        if kind == "run":
            await self.world.run(mappings=["CUSTOMER"])
        elif kind == "create":
            self.create(*args)
        elif kind == "edit":
            self.edit(*args)
        else:
            self.delete(*args)

    def create(self, side: Side, name: int, city: int) -> None:
        self.tokens += 1
        token = f"token{self.tokens}@convergence.example"
        name_, city_ = NAMES[name % len(NAMES)], CITIES[city % len(CITIES)]
        if side is Side.BC:
            self.world.bc.insert(
                self.world.company,
                "customers",
                {"displayName": name_, "city": city_, "email": token},
            )
        else:
            currency = f"/transactioncurrencies({self.currency_row})"
            self.world.dataverse.create(
                "accounts",
                {
                    "name": name_,
                    "address1_city": city_,
                    "emailaddress1": token,
                    "customertypecode": 3,
                    "transactioncurrencyid@odata.bind": currency,
                },
            )

    def edit(self, side: Side, which: int, field: str, value: int) -> None:
        pool = {"displayName": NAMES, "city": CITIES, "phoneNumber": ("+45 1", "+45 2", "")}
        chosen = pool[field][value % len(pool[field])]
        record = self.pick(side, which)
        if record is None:
            return
        if side is Side.BC:
            self.world.bc.edit(self.world.company, "customers", record, {field: chosen})
        else:
            self.world.dataverse.edit("accounts", record, {SANDBOX_FIELDS[field]: chosen or None})

    def delete(self, side: Side, which: int) -> None:
        record = self.pick(side, which)
        if record is not None:
            self.world.dataverse.delete("accounts", record)

    def pick(self, side: Side, which: int) -> str | None:
        ids = sorted(self.tokened(side))
        return ids[which % len(ids)] if ids else None

    def tokened(self, side: Side) -> dict[str, str]:
        """Records users created in this example: id → token."""
        if side is Side.BC:
            records = self.world.bc.all(self.world.company, "customers")
            return {r["id"]: r["email"] for r in records if "@convergence." in r["email"]}
        rows = self.world.dataverse.all("accounts")
        return {
            r["accountid"]: r["emailaddress1"]
            for r in rows
            if "@convergence." in (r["emailaddress1"] or "")
        }


async def converge_in_sandbox(
    conflicts: str, deletions: str, overlap: int, plays: list[tuple]
) -> None:
    world = await open_world(
        store_kind="in_memory", tmp_path=None, limits=RunLimits(overlap_seconds=overlap), records=3
    )
    try:
        result = await world.run(RunMode.FULL)
        assert result.run.counters.failed == 0, result.errors
        await world.configure(
            "CUSTOMER",
            sync_only_coupled=False,
            conflict_policy=conflicts,
            deletion_policy=deletions,
        )
        currency = (await world.couplings("CURRENCY"))[0].dataverse_id
        example = SandboxConvergence(world=world, currency_row=currency)
        for action in plays:
            await example.play(action)
        for _ in range(2):
            world.clock.advance(timedelta(seconds=1))
            await world.run(mappings=["CUSTOMER"])
        await assert_sandbox_converged(example, DeletionPolicy(deletions))
    finally:
        await close_world(world)


async def assert_sandbox_converged(example: SandboxConvergence, deletions: DeletionPolicy) -> None:
    world = example.world
    couplings = await world.couplings("CUSTOMER")
    for ids in ([c.bc_id for c in couplings], [c.dataverse_id for c in couplings]):
        assert len(ids) == len(set(ids)), f"an id is coupled twice: {couplings}"
    customers, accounts = example.tokened(Side.BC), example.tokened(Side.DATAVERSE)
    for tokens in (customers.values(), accounts.values()):
        assert len(list(tokens)) == len(set(tokens)), f"duplicates: {sorted(tokens)}"
    errors: dict[str, set[str]] = {}
    for run in await world.store.runs.list_runs(world.scope(), limit=1000):
        for error in await world.store.runs.list_errors(world.scope(), run.id):
            errors.setdefault(error.record_id.lower(), set()).add(error.code)
    unequal = await world.unequal_fields("CUSTOMER")
    for coupling in couplings:
        noted = errors.get(coupling.bc_id.lower(), set()) | errors.get(
            coupling.dataverse_id.lower(), set()
        )
        differing = unequal.get(coupling.bc_id)
        if differing == ["(missing)"]:
            assert deletions is DeletionPolicy.NONE, coupling
            assert "CoupledRecordDeleted" in noted, (coupling, noted)
        elif differing:
            assert "Conflict" in noted, (coupling, differing, noted)
    if deletions is not DeletionPolicy.REMOVE_COUPLING:
        assert set(customers) <= {c.bc_id for c in couplings}, "a customer was not created"
        assert set(accounts) <= {c.dataverse_id for c in couplings}, "an account was not created"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    conflicts=st.sampled_from([p.value for p in ConflictPolicy]),
    deletions=st.sampled_from(["none", "remove_coupling", "propagate"]),
    overlap=st.sampled_from([0, 120]),
    plays=st.lists(sandbox_actions, max_size=20),
)
def test_emulated_sides_agree_without_duplicates_when_random_edits_and_runs_interleave(
    conflicts, deletions, overlap, plays
):
    asyncio.run(converge_in_sandbox(conflicts, deletions, overlap, plays))

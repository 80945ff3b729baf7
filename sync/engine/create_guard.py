"""The guard against duplicate BC records after a crash or a lost answer.

Dataverse creates are idempotent by construction (client-chosen ids, upsert). BC chooses its own
ids, so a create whose answer was lost, or whose coupling was never saved because the process
died, could be sent again by the next run and create a second record. The guard:

1. records an *intent* for every BC create before sending it (keyed by the source Dataverse id);
2. clears the intent once the outcome is known and recorded;
3. before the next sync of the mapping, looks every intent left over (a crash, a lost answer)
   up in BC by its values (the match key) and couples the one record it finds; an intent that
   made nothing is dropped, and the record is created again normally.

Intents are stored as couplings of the pseudo-mapping ``<MAPPING>/create-intents`` (Dataverse
id on both sides, the planned values as the base), so both store adapters keep them without a
table of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sync.cooperative import in_slices
from sync.engine.coupling_index import CouplingIndex
from sync.engine.operation import Operation
from sync.models import Coupling, Record, Side, TableMapping, WriteKind
from sync.ports import CouplingStore, SideGateway

_SUFFIX = "/create-intents"


class CreateGuard:
    """Intents of BC creates for one mapping of one scope."""

    def __init__(self, *, store: CouplingStore, scope: str, mapping: TableMapping) -> None:
        self._store = store
        self._scope = scope
        self._mapping = mapping
        self._name = mapping.name + _SUFFIX

    async def record_intents(self, operations: Sequence[Operation], *, now: datetime) -> None:
        """Before sending BC creates: remember each one, so a lost outcome can be recovered."""
        intents = []
        async for chunk in in_slices(operations):
            intents += [
                self._intent(op, now)
                for op in chunk
                if _creates_in_bc(op) and op.dataverse_id is not None
            ]
        if intents:
            await self._store.put_couplings(intents)

    async def recover(self, bc: SideGateway, index: CouplingIndex) -> list[Coupling]:
        """Couple the BC records that unconfirmed creates made; forget intents that made none.

        Runs before a mapping is synced, so neither direction creates a second record.

        Returns:
            The couplings recovered (already saved and added to ``index``).
        """
        stale = [c async for c in self._store.load_couplings(self._scope, self._name)]
        if not stale:
            return []
        recovered: list[Coupling] = []
        for intent in stale:
            if index.find(Side.DATAVERSE, intent.dataverse_id) is not None:
                continue
            matches = await bc.find_matching(self._mapping, intent.base_bc)
            unclaimed = [m for m in matches if index.find(Side.BC, m.id) is None]
            if len(unclaimed) == 1:
                recovered.append(self._coupling(intent, unclaimed[0]))
        if recovered:
            await self._store.put_couplings(recovered)
            index.put(recovered)
        await self._store.delete_couplings(stale)
        return recovered

    def _coupling(self, intent: Coupling, record: Record) -> Coupling:
        return Coupling(
            scope=self._scope,
            mapping=self._mapping.name,
            bc_id=record.id,
            dataverse_id=intent.dataverse_id,
            base_bc={k: record.values.get(k) for k in intent.base_bc},
            bc_version=record.version,
            bc_modified_at=record.modified_at,
            last_synced_at=intent.last_synced_at,
        )

    async def settle(self, operations: Sequence[Operation], transient: Sequence[Operation]) -> None:
        """Forget the intents whose outcome is known; keep those of transient failures."""
        unsettled = {op.dataverse_id for op in transient}
        done = [
            self._intent_key(op.dataverse_id)
            for op in operations
            if _creates_in_bc(op) and op.dataverse_id and op.dataverse_id not in unsettled
        ]
        if done:
            await self._store.delete_couplings(done)

    def _intent(self, operation: Operation, now: datetime) -> Coupling:
        assert operation.dataverse_id is not None  # noqa: S101 - checked by the caller
        values = operation.bc_write.values if operation.bc_write is not None else {}
        return self._intent_key(operation.dataverse_id).model_copy(
            update={"base_bc": dict(values), "last_synced_at": now}
        )

    def _intent_key(self, dataverse_id: str) -> Coupling:
        return Coupling(
            scope=self._scope, mapping=self._name, bc_id=dataverse_id, dataverse_id=dataverse_id
        )


def _creates_in_bc(operation: Operation) -> bool:
    return operation.bc_write is not None and operation.bc_write.kind is WriteKind.CREATE

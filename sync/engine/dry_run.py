"""Dry runs: couplings a plan would create, visible to the mappings planned after it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence

from sync.engine.operation import Operation, OperationKind
from sync.models import Coupling
from sync.ports import CouplingStore


class PlannedCouplings:  # implements CouplingStore
    """The stored couplings plus those a dry run planned so far; writes go nowhere.

    Lookups in a dry run then resolve as a real run's would: customers planned after currencies
    find the currency rows that the plan would create.
    """

    def __init__(self, stored: CouplingStore, scope: str) -> None:
        self._stored = stored
        self._scope = scope
        self._planned: dict[tuple[str, str], Coupling] = {}

    def add(self, operations: Iterable[Operation]) -> None:
        """Remember the couplings that planned creates would make."""
        for op in operations:
            if op.kind is OperationKind.CREATE and op.bc_id and op.dataverse_id:
                self._planned[(op.mapping, op.bc_id)] = Coupling(
                    scope=self._scope,
                    mapping=op.mapping,
                    bc_id=op.bc_id,
                    dataverse_id=op.dataverse_id,
                    base_bc=op.base_bc,
                    base_dataverse=op.base_dataverse,
                )

    async def get_by_bc_id(self, scope: str, mapping: str, bc_id: str) -> Coupling | None:
        """A planned or stored coupling."""
        planned = self._planned.get((mapping, bc_id))
        return planned or await self._stored.get_by_bc_id(scope, mapping, bc_id)

    async def get_by_dataverse_id(
        self, scope: str, mapping: str, dataverse_id: str
    ) -> Coupling | None:
        """A planned or stored coupling."""
        for (name, _), coupling in self._planned.items():
            if name == mapping and coupling.dataverse_id == dataverse_id:
                return coupling
        return await self._stored.get_by_dataverse_id(scope, mapping, dataverse_id)

    async def load_couplings(
        self, scope: str, mapping: str, *, skipped_only: bool = False
    ) -> AsyncIterator[Coupling]:
        """Stored couplings, then planned ones."""
        async for coupling in self._stored.load_couplings(
            scope, mapping, skipped_only=skipped_only
        ):
            yield coupling
        if not skipped_only:
            for (name, _), coupling in self._planned.items():
                if name == mapping:
                    yield coupling

    async def put_couplings(self, couplings: Sequence[Coupling]) -> None:
        """A dry run saves nothing."""

    async def delete_couplings(self, couplings: Sequence[Coupling]) -> None:
        """A dry run deletes nothing."""

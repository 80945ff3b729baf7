"""The couplings of one mapping held in memory for a run: the only state that grows with size."""

from __future__ import annotations

from collections.abc import Iterable

from sync.models import Coupling, Side
from sync.ports import CouplingStore


class CouplingIndex:
    """Couplings of one mapping by BC id and by Dataverse id (ids compared lower-case)."""

    def __init__(self, couplings: Iterable[Coupling] = ()) -> None:
        self._by_bc: dict[str, Coupling] = {}
        self._by_dataverse: dict[str, Coupling] = {}
        self.put(couplings)

    @classmethod
    async def load(cls, store: CouplingStore, scope: str, mapping: str) -> CouplingIndex:
        """Read every coupling of the mapping from the store."""
        return cls([coupling async for coupling in store.load_couplings(scope, mapping)])

    def __len__(self) -> int:
        return len(self._by_bc)

    def find(self, side: Side, record_id: str) -> Coupling | None:
        """The coupling of a record of ``side``, or None."""
        index = self._by_bc if side is Side.BC else self._by_dataverse
        return index.get(record_id.lower())

    def put(self, couplings: Iterable[Coupling]) -> None:
        """Add or replace couplings (a re-coupled id drops its old pairing)."""
        for coupling in couplings:
            self.remove([coupling])
            self._by_bc[coupling.bc_id.lower()] = coupling
            self._by_dataverse[coupling.dataverse_id.lower()] = coupling

    def remove(self, couplings: Iterable[Coupling]) -> None:
        """Forget couplings, by either id."""
        for coupling in couplings:
            old = self._by_bc.pop(coupling.bc_id.lower(), None)
            if old is not None:
                self._by_dataverse.pop(old.dataverse_id.lower(), None)
            old = self._by_dataverse.pop(coupling.dataverse_id.lower(), None)
            if old is not None:
                self._by_bc.pop(old.bc_id.lower(), None)

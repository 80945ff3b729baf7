"""The couplings of one mapping held in memory for a run: the only state that grows with size.

A parsed ``Coupling`` costs about 4 KB (two base dicts, fifteen value strings, its own copy of
the scope, pydantic's bookkeeping), so 100,000 of them would be 400 MB. The index keeps each as
its compact JSON instead (defaults, scope and mapping left out: under 1 KB), deflated against
the first coupling it was given (couplings of one mapping share their keys and most of their
shape, so ~850 bytes become ~200), and parses it again when a record of that pair is read, which
happens once or twice per pair and run.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable

from sync.models import Coupling, Side
from sync.ports import CouplingStore

_SHARED = {"scope", "mapping"}
# Raw deflate with a 2 KB window: an entry is under 1 KB, so the shared dictionary stays within
# reach, and the small window keeps each compression about ten times cheaper than the default.
_WINDOW_BITS = -11
_MEMORY_LEVEL = 4
_FAST = 1


class CouplingIndex:
    """Couplings of one mapping by BC id and by Dataverse id (ids compared lower-case).

    Args:
        couplings: The couplings to start with, all of one scope and mapping.
        scope: The scope every coupling belongs to (taken from the first one when omitted).
        mapping: The mapping every coupling belongs to (likewise).
    """

    def __init__(
        self, couplings: Iterable[Coupling] = (), *, scope: str = "", mapping: str = ""
    ) -> None:
        self._scope, self._mapping = scope, mapping
        self._head: bytes | None = None
        self._dictionary: bytes | None = None
        self._by_bc: dict[str, bytes] = {}
        self._bc_by_dataverse: dict[str, str] = {}
        self.put(couplings)

    @classmethod
    async def load(cls, store: CouplingStore, scope: str, mapping: str) -> CouplingIndex:
        """Read every coupling of the mapping from the store, one at a time."""
        index = cls(scope=scope, mapping=mapping)
        async for coupling in store.load_couplings(scope, mapping):
            index.put((coupling,))
        return index

    def __len__(self) -> int:
        return len(self._by_bc)

    def find(self, side: Side, record_id: str) -> Coupling | None:
        """The coupling of a record of ``side``, or None."""
        key = record_id.lower()
        if side is Side.DATAVERSE:
            found = self._bc_by_dataverse.get(key)
            if found is None:
                return None
            key = found
        raw = self._by_bc.get(key)
        return None if raw is None else self._parse(raw)

    def put(self, couplings: Iterable[Coupling]) -> None:
        """Add or replace couplings (a re-coupled id drops its old pairing).

        Raises:
            ValueError: A coupling of another scope or mapping than the index's.
        """
        for coupling in couplings:
            self._adopt(coupling)
            self.remove([coupling])
            bc_key = coupling.bc_id.lower()
            raw = coupling.model_dump_json(exclude=_SHARED, exclude_defaults=True).encode()
            self._by_bc[bc_key] = self._pack(raw)
            self._bc_by_dataverse[coupling.dataverse_id.lower()] = bc_key

    def remove(self, couplings: Iterable[Coupling]) -> None:
        """Forget couplings, by either id."""
        for coupling in couplings:
            bc_key = coupling.bc_id.lower()
            old = self._by_bc.pop(bc_key, None)
            if old is not None:
                self._bc_by_dataverse.pop(self._parse(old).dataverse_id.lower(), None)
            old_bc = self._bc_by_dataverse.pop(coupling.dataverse_id.lower(), None)
            if old_bc is not None:
                self._by_bc.pop(old_bc, None)

    def _adopt(self, coupling: Coupling) -> None:
        if not self._scope and not self._mapping and not self._by_bc:
            self._scope, self._mapping = coupling.scope, coupling.mapping
        if (coupling.scope, coupling.mapping) != (self._scope, self._mapping):
            raise ValueError(
                f"coupling {coupling.bc_id} of {coupling.scope}/{coupling.mapping} does not "
                f"belong in the index of {self._scope}/{self._mapping}"
            )

    def _pack(self, raw: bytes) -> bytes:
        if self._dictionary is None:
            self._dictionary = raw
        packer = zlib.compressobj(
            _FAST, zlib.DEFLATED, _WINDOW_BITS, _MEMORY_LEVEL, zdict=self._dictionary
        )
        return packer.compress(raw) + packer.flush()

    def _parse(self, packed: bytes) -> Coupling:
        assert self._dictionary is not None  # noqa: S101 - set by the first put
        raw = zlib.decompressobj(_WINDOW_BITS, zdict=self._dictionary).decompress(packed)
        # Put the shared fields back in front: '{"bc_id":…}' -> '{"scope":…,"mapping":…,"bc_id":…}'.
        if self._head is None:
            shared = json.dumps({"scope": self._scope, "mapping": self._mapping})
            self._head = shared[:-1].encode() + b","
        return Coupling.model_validate_json(self._head + raw[1:])

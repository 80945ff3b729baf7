"""Operations: what a plan says should happen to one record pair."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from sync.models import FrozenModel, JsonScalar, Side, WriteRequest

SETTLED = "already synced, and the pair's last sync went through"
"""Reason of an unchanged pair whose coupling stays exactly as it is: recorded as a count only."""


class OperationKind(StrEnum):
    """The kinds of step a plan holds."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    SKIP = "skip"
    CONFLICT = "conflict"
    DELETE = "delete"
    UNCOUPLE = "uncouple"
    RESTORE = "restore"
    FAIL = "fail"


class Operation(FrozenModel):
    """One step for one record pair, as a dry run shows it and the runner applies it.

    ``bc_write`` / ``dataverse_write`` are the writes to make (None: that side is left alone).
    ``base_bc`` / ``base_dataverse`` are the coupling's base once the writes succeeded; the
    runner adds ids and versions from the write outcomes. ``conflicts`` names fields that
    changed differently on both sides and were not resolved by the policy. ``couples`` marks
    a pair found by match-based coupling: the coupling is new, no record is created.
    ``bc_version`` / ``dataverse_version`` are the versions of the records as read; a coupling
    keeps them, so a record read again unchanged is recognised without reading its partner.
    """

    kind: OperationKind
    mapping: str
    source: Side
    bc_id: str | None = None
    dataverse_id: str | None = None
    bc_write: WriteRequest | None = None
    dataverse_write: WriteRequest | None = None
    changed_fields: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    reason: str = ""
    error_code: str = ""
    couples: bool = False
    bc_version: str | None = None
    dataverse_version: str | None = None
    base_bc: dict[str, JsonScalar] = Field(default_factory=dict)
    base_dataverse: dict[str, JsonScalar] = Field(default_factory=dict)

    @property
    def writes_anything(self) -> bool:
        """True when the step writes to a side."""
        return self.bc_write is not None or self.dataverse_write is not None

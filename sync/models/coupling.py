"""Couplings: which BC record and Dataverse row are the same thing, and what was last synced."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from sync.models.base import AwareDatetime, FrozenModel, JsonScalar


class SyncResult(StrEnum):
    """Outcome of the last sync attempt of a pair."""

    NONE = "none"
    SUCCESS = "success"
    FAILURE = "failure"


class Coupling(FrozenModel):
    """The link BC id ⇄ Dataverse id within one mapping and scope, plus its *base*.

    The base is the mapped values of both sides as they were right after the last successful
    sync. A later change whose values equal the base is our own echo (or an edit of unmapped
    fields) and is skipped; when both sides moved away from the base, the engine merges field by
    field. For option mappings ``dataverse_id`` is the choice value as text (``"3"``).
    """

    scope: str = Field(min_length=1)
    mapping: str = Field(min_length=1)
    bc_id: str = Field(min_length=1)
    dataverse_id: str = Field(min_length=1)
    base_bc: dict[str, JsonScalar] = Field(default_factory=dict)
    base_dataverse: dict[str, JsonScalar] = Field(default_factory=dict)
    bc_version: str | None = None
    dataverse_version: str | None = None
    bc_modified_at: AwareDatetime | None = None
    dataverse_modified_at: AwareDatetime | None = None
    last_result: SyncResult = SyncResult.NONE
    last_synced_at: AwareDatetime | None = None
    failure_count: int = Field(default=0, ge=0)
    skipped: bool = False
    last_error: str | None = None

    def restored(self) -> Coupling:
        """A copy that syncs again: not skipped, failure count reset."""
        return self.model_copy(update={"skipped": False, "failure_count": 0, "last_error": None})

    def failed(self, message: str, *, skip_after: int, at: datetime) -> Coupling:
        """A copy recording one more failure; skipped once it failed ``skip_after`` times."""
        count = self.failure_count + 1
        return self.model_copy(
            update={
                "failure_count": count,
                "skipped": count >= skip_after,
                "last_error": message,
                "last_result": SyncResult.FAILURE,
                "last_synced_at": at,
            }
        )

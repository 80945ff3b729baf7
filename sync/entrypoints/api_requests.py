"""Request bodies of the HTTP API: camelCase JSON, unknown keys refused, ids checked as GUIDs."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

GUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
MAX_IDS = 1000
"""Ids one request may name (uncouple, restore): enough for a screen of records."""

Guid = Annotated[
    str,
    Field(pattern=GUID_PATTERN, description="a GUID, e.g. 5d1c9b1e-0000-4000-8000-000000000001"),
    AfterValidator(str.lower),
]


class _Body(BaseModel):
    # Callers write camelCase (the aliases); Python names are not accepted in bodies.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=False)


class DryRunRequest(_Body):
    """An optional body of the sync routes: ``{"dryRun": true}`` plans without writing."""

    dry_run: bool = Field(
        default=False, alias="dryRun", description="plan only; nothing is written"
    )


class RecordRequest(DryRunRequest):
    """Which record to sync: exactly one of ``bcId`` and ``dataverseId``."""

    bc_id: Guid | None = Field(
        default=None, alias="bcId", description="the BC record's id (systemId)"
    )
    dataverse_id: Guid | None = Field(
        default=None, alias="dataverseId", description="the Dataverse row's id"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> RecordRequest:
        if (self.bc_id is None) == (self.dataverse_id is None):
            raise ValueError("give exactly one of bcId and dataverseId")
        return self


class FullSyncRequest(DryRunRequest):
    """Which mappings a full sync covers; all enabled ones when ``mappings`` is left out."""

    mappings: tuple[str, ...] | None = Field(
        default=None, min_length=1, description="mapping names; all when left out"
    )


class CoupleRequest(DryRunRequest):
    """A BC record and a Dataverse row to couple."""

    bc_id: Guid = Field(alias="bcId")
    dataverse_id: Guid = Field(alias="dataverseId")


class UncoupleRequest(_Body):
    """Couplings to remove, by either id; at least one id."""

    bc_ids: tuple[Guid, ...] = Field(default=(), alias="bcIds", max_length=MAX_IDS)
    dataverse_ids: tuple[Guid, ...] = Field(default=(), alias="dataverseIds", max_length=MAX_IDS)

    @model_validator(mode="after")
    def _some_id(self) -> UncoupleRequest:
        if not self.bc_ids and not self.dataverse_ids:
            raise ValueError("give at least one id in bcIds or dataverseIds")
        return self


class RestoreRequest(_Body):
    """Skipped records to sync again; with ``retry`` they are synced right away."""

    bc_ids: tuple[Guid, ...] = Field(alias="bcIds", min_length=1, max_length=MAX_IDS)
    retry: bool = Field(default=False, description="also sync each record now")

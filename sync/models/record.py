"""Records as the connectors hand them to the engine, and the writes the engine asks for."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from sync.models.base import AwareDatetime, FrozenModel, JsonScalar
from sync.models.run import ErrorClass


class Record(FrozenModel):
    """One row of one side: its id, version, change time and the selected values.

    A deletion seen through Dataverse change tracking is a ``Record`` with ``deleted=True`` and
    no values (a tombstone).
    """

    id: str = Field(min_length=1)
    version: str | None = None
    modified_at: AwareDatetime | None = None
    values: dict[str, JsonScalar] = Field(default_factory=dict)
    deleted: bool = False


class ChangePage(FrozenModel):
    """One page of changes read from a side.

    ``delta_token`` is set on the last page of a Dataverse change-tracking read: the cursor to
    save for the next run.
    """

    records: tuple[Record, ...] = ()
    delta_token: str | None = None


class WriteKind(StrEnum):
    """What one write does."""

    CREATE = "create"
    UPDATE = "update"
    UPSERT = "upsert"
    DELETE = "delete"


class WriteRequest(FrozenModel):
    """One write to one side.

    ``record_id`` is required for update, upsert and delete; for a Dataverse create it is the
    client-chosen id (deterministic, so a retried create cannot duplicate). ``version`` is the
    ETag the write is conditional on; None means "whatever version" (``If-Match: *``).
    """

    kind: WriteKind
    record_id: str | None = None
    values: dict[str, JsonScalar] = Field(default_factory=dict)
    version: str | None = None


class WriteOutcome(FrozenModel):
    """The result of the ``index``-th write of a call: the new id and version, or why not.

    ``values`` holds the record as the service stored it, when the service answered with it
    (BC does; Dataverse bulk messages do not): BC upper-cases codes, for example, and the
    coupling's base must hold what is stored, not what was sent.
    """

    index: int = Field(ge=0)
    record_id: str | None = None
    version: str | None = None
    modified_at: AwareDatetime | None = None
    error_class: ErrorClass | None = None
    error_code: str = ""
    error_message: str = ""
    values: dict[str, JsonScalar] = Field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the write took effect."""
        return self.error_class is None

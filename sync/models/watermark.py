"""Watermarks: how far each side of a mapping has been read."""

from __future__ import annotations

from pydantic import Field

from sync.models.base import AwareDatetime, FrozenModel
from sync.models.side import Side


class Watermark(FrozenModel):
    """The read cursor of one side of one mapping in one scope.

    ``modified_at`` is the latest change time already processed (BC ``lastModifiedDateTime``,
    Dataverse ``modifiedon``); ``delta_token`` is Dataverse's change-tracking link when used.
    ``etag`` is the store's concurrency token: None for a watermark never saved; a save with a
    stale ``etag`` is refused with ``ConcurrencyError``.
    """

    scope: str = Field(min_length=1)
    mapping: str = Field(min_length=1)
    side: Side
    modified_at: AwareDatetime | None = None
    delta_token: str | None = None
    etag: str | None = None

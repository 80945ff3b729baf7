"""Leases: at most one run of a mapping at a time."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from sync.models.base import AwareDatetime, FrozenModel


class Lease(FrozenModel):
    """A held lease. ``name`` is what is locked (scope and mapping), ``owner`` who holds it."""

    name: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    expires_at: AwareDatetime
    etag: str

    def is_expired(self, now: datetime) -> bool:
        """True once ``now`` is at or after the expiry."""
        return now >= self.expires_at

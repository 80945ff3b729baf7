"""The real clock, for adapters and the composition root (the engine receives it as a port)."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:  # implements Clock
    """Reads the system time, always as a timezone-aware UTC instant."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)

"""The two sides of every sync."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    """``bc`` (Business Central) or ``dataverse``."""

    BC = "bc"
    DATAVERSE = "dataverse"

    @property
    def other(self) -> Side:
        """The opposite side."""
        return Side.DATAVERSE if self is Side.BC else Side.BC

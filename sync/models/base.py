"""The base every model shares: frozen, strict about unknown keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

JsonScalar = str | int | float | bool | None
"""A value of one field as both services carry it in JSON."""


def _require_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            "a timezone-aware datetime is required (UTC, for example 2024-05-01T08:00:00Z)"
        )
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_require_utc)]
"""A datetime that must carry its timezone; naive datetimes are refused."""


class FrozenModel(BaseModel):
    """Immutable value object: unknown keys are refused, instances are safe to share."""

    model_config = ConfigDict(frozen=True, extra="forbid")

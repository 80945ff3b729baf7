"""Hand the event loop back during long loops, so in-flight requests keep their slots busy.

The engine plans, prepares and records thousands of records per page on the same event loop
that receives the answers of the writes in flight. A loop that runs half a second without
awaiting leaves every finished request unanswered and every free slot idle for that long;
awaiting between slices of a few hundred records keeps the services busy at a negligible cost.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import TypeVar

T = TypeVar("T")

SLICE = 250
"""Records handled between two hand-backs: well under a few milliseconds of work."""


async def in_slices(items: Sequence[T], size: int = SLICE) -> AsyncIterator[Sequence[T]]:
    """Yield ``items`` in slices of ``size``, letting other tasks run before each but the first."""
    for start in range(0, len(items), size):
        if start:
            await asyncio.sleep(0)
        yield items[start : start + size]

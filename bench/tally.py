"""Requests one scenario cost on each side, from the sandbox's counters and the clients' accounting.

The sandbox counts what reached it (every send, retries and refusals included); the client
knows which sends were retries (the engine's `RequestAccounting.retries`). Reads are GETs;
writes are everything else, so a `$batch` or a bulk message counts as one write request
however many records it carries.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.control import CounterCounts


@dataclass(frozen=True, slots=True)
class SideTally:
    """HTTP requests one side served during a scenario.

    Attributes:
        reads: GET requests (retries included).
        writes: other requests ($batch, bulk messages, single writes; retries included).
        retries: requests the client sent again after a transient failure.
        throttled: requests answered 429.
    """

    reads: int = 0
    writes: int = 0
    retries: int = 0
    throttled: int = 0

    @property
    def requests(self) -> int:
        """Every request the side served."""
        return self.reads + self.writes


def side_tally(served: CounterCounts, retries: int) -> SideTally:
    """Combine what the sandbox served with the retries the client reported."""
    return SideTally(
        reads=served.reads(),
        writes=served.writes(),
        retries=retries,
        throttled=served.throttled(),
    )

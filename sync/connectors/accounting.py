"""Counters of the requests one service client made, for run history and benchmarks."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class RequestKind(StrEnum):
    """What a request does, as the service's request counters see it."""

    READ = "read"
    WRITE = "write"
    BATCH = "batch"


@dataclass
class RequestAccounting:
    """Request counters of one service client (one service and scope).

    ``reads``, ``writes`` and ``batches`` count the requests the connector asked for, once each
    however many times they were sent; ``retries`` counts the extra sends, so the number of HTTP
    requests the service saw is ``reads + writes + batches + retries``. ``throttled`` counts the
    answers that said "slow down" (429, and 503 from an overloaded queue), ``failures`` the
    requests that ended in an error.
    """

    reads: int = 0
    writes: int = 0
    batches: int = 0
    retries: int = 0
    throttled: int = 0
    failures: int = 0

    def record(self, kind: RequestKind) -> None:
        """Count one request of ``kind``."""
        match kind:
            case RequestKind.READ:
                self.reads += 1
            case RequestKind.WRITE:
                self.writes += 1
            case RequestKind.BATCH:
                self.batches += 1

    def record_retry(self) -> None:
        """Count one extra send of a request already counted."""
        self.retries += 1

    def record_throttled(self) -> None:
        """Count one answer asking us to slow down."""
        self.throttled += 1

    def record_failure(self) -> None:
        """Count one request that ended in an error."""
        self.failures += 1

    def snapshot(self) -> dict[str, int]:
        """The counters as a plain dict, e.g. ``{"reads": 12, "writes": 3, ...}``."""
        return asdict(self)

"""One measured row of the benchmark, and its JSON form (sizes run in child processes)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final

from bench.tally import SideTally

ENGINE: Final = "engine"
BASELINE: Final = "per-record"


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One scenario run by one strategy at one size.

    Attributes:
        size: records in the table (N).
        scenario: what was synced, e.g. `full BC → Dataverse`.
        strategy: `engine` or `per-record`.
        records: records synced (changed pairs for incremental runs).
        seconds: wall time; for a sampled baseline, the sample's time scaled to `records`.
        ceiling: the best records/s the limits allow, None when no record moves.
        bc: requests BC served.
        dataverse: requests Dataverse served.
        peak_rss_mb: the engine process's peak RSS during the run (None for the baseline).
        outcome: the run's counters, or what the baseline did, in words.
        counters: the run's counters (`inserted`, `modified`, `failed`, ...); for the baseline
            `synced` and `failed`.
        sampled: for the baseline, how many records it really synced (None: all).
    """

    size: int
    scenario: str
    strategy: str
    records: int
    seconds: float
    ceiling: float | None
    bc: SideTally = field(default_factory=SideTally)
    dataverse: SideTally = field(default_factory=SideTally)
    peak_rss_mb: float | None = None
    outcome: str = ""
    counters: dict[str, int] = field(default_factory=dict)
    sampled: int | None = None

    @property
    def records_per_second(self) -> float | None:
        """Throughput; None when no record moved."""
        if self.records <= 0 or self.seconds <= 0:
            return None
        return self.records / self.seconds

    @property
    def share_of_ceiling(self) -> float | None:
        """Throughput as a share of the ceiling."""
        rate = self.records_per_second
        if rate is None or not self.ceiling:
            return None
        return rate / self.ceiling

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResultRow:
        """Rebuild a row from `to_json`'s output."""
        values = dict(data)
        values["bc"] = SideTally(**values["bc"])
        values["dataverse"] = SideTally(**values["dataverse"])
        return cls(**values)

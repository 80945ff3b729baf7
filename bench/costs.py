"""The sandbox's modelled server costs and service-protection limits for a benchmark run.

The limits keep the contract's rates (api-contracts A8 and B7): 6,000 requests per 300 s on
each service, 1,200,000 ms of Dataverse execution time per 300 s, 52 concurrent Dataverse
requests, 5 concurrent BC requests with 95 queued. Only the window may be shortened, with every
per-window limit scaled by the same factor, so that the sustained rates stay the contract's
while the burst a fresh window allows shrinks to a few seconds of work. A benchmark shorter
than five minutes would otherwise be measured mostly inside the first window's burst, which
says little about a 100k load that takes longer.

The per-request latency and per-record cost are sleeps in the emulators, so they use no CPU:
they make the limits, not this machine, decide how fast records can move.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

CONTRACT_WINDOW_SECONDS: Final = 300.0
CONTRACT_REQUESTS_PER_WINDOW: Final = 6000
CONTRACT_DATAVERSE_EXECUTION_MS_PER_WINDOW: Final = 1_200_000
CONTRACT_DATAVERSE_CONCURRENT: Final = 52
CONTRACT_BC_CONCURRENT: Final = 5
CONTRACT_BC_QUEUE: Final = 95


@dataclass(frozen=True, slots=True)
class ModelledCosts:
    """What one served sandbox charges and allows.

    Attributes:
        latency_ms: server time added to every API request, on both services.
        record_cost_ms: server time per record written, on both services.
        window_seconds: the sliding window of the rate limits (300 s in the contract).
        dop_hint: Dataverse's `x-ms-dop-hint`, the parallelism it recommends to clients.
        protection: whether the limits are switched on.
    """

    latency_ms: float = 20.0
    record_cost_ms: float = 5.0
    window_seconds: float = 30.0
    dop_hint: int = 4
    protection: bool = True

    @property
    def window_share(self) -> float:
        """The window as a share of the contract's 300 s; per-window limits scale with it."""
        return self.window_seconds / CONTRACT_WINDOW_SECONDS

    @property
    def dataverse_max_requests(self) -> int:
        """Dataverse requests per user and window."""
        return max(1, round(CONTRACT_REQUESTS_PER_WINDOW * self.window_share))

    @property
    def dataverse_max_execution_ms(self) -> int:
        """Dataverse execution milliseconds per user and window."""
        return max(1, round(CONTRACT_DATAVERSE_EXECUTION_MS_PER_WINDOW * self.window_share))

    @property
    def bc_max_requests(self) -> int:
        """BC requests per user and window."""
        return max(1, round(CONTRACT_REQUESTS_PER_WINDOW * self.window_share))

    def serve_arguments(self) -> list[str]:
        """The `python -m sandbox serve` options that apply these costs and limits."""
        arguments = [
            f"--latency-ms={self.latency_ms:g}",
            f"--record-cost-ms={self.record_cost_ms:g}",
            f"--dop-hint={self.dop_hint}",
            f"--dv-max-requests={self.dataverse_max_requests}",
            f"--dv-max-execution-ms={self.dataverse_max_execution_ms}",
            f"--dv-max-concurrent={CONTRACT_DATAVERSE_CONCURRENT}",
            f"--dv-window-seconds={self.window_seconds:g}",
            f"--bc-max-requests={self.bc_max_requests}",
            f"--bc-max-concurrent={CONTRACT_BC_CONCURRENT}",
            f"--bc-max-queue={CONTRACT_BC_QUEUE}",
            f"--bc-window-seconds={self.window_seconds:g}",
        ]
        arguments.append("--protection" if self.protection else "--no-protection")
        return arguments

    def describe(self) -> str:
        """One line for the report."""
        return (
            f"latency {self.latency_ms:g} ms/request, {self.record_cost_ms:g} ms/record written; "
            f"window {self.window_seconds:g} s: Dataverse {self.dataverse_max_requests} requests, "
            f"{self.dataverse_max_execution_ms:,} ms execution, "
            f"{CONTRACT_DATAVERSE_CONCURRENT} concurrent, x-ms-dop-hint {self.dop_hint}; "
            f"BC {self.bc_max_requests} requests, {CONTRACT_BC_CONCURRENT} concurrent + "
            f"{CONTRACT_BC_QUEUE} queued"
        )


FREE: Final = ModelledCosts(latency_ms=0.0, record_cost_ms=0.0, protection=False)
"""No modelled cost and no limits: what this machine's CPU alone allows."""

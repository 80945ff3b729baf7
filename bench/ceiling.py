r"""The ceiling: the best records/s the sandbox's modelled costs and limits allow, in closed form.

A write request of `b` records keeps the server busy `t(b) = latency + b * record_cost`. With the
engine's request sizes (Dataverse bulk messages of `B_dv` = 1,000 records, BC `$batch` of
`B_bc` = 100), each service can sustain:

    Dataverse   min( dop * B_dv / t(B_dv),                    parallel requests it recommends
                     (E / W) * B_dv / t(B_dv),                execution time per second
                     (R / W) * B_dv )                         requests per second
    BC          min( 5 * B_bc / t(B_bc),                      requests processed at once
                     (R / W) * B_bc )                         requests per second

with `dop` = min(x-ms-dop-hint, 52), `E` the execution milliseconds and `R` the requests per
window `W`. A client that stays within those parallelisms cannot borrow a window's unused budget,
so these are sustained rates. Reads are not the bottleneck: one page of `P` records costs one
request of `latency`.

A scenario that writes `n_bc` records to BC and `n_dv` to Dataverse, after reading `pages`
pages in sequence and, for coupled changes, one round of counterpart reads, takes at least

    T = pages * latency + (latency if counterparts are read) + max(n_bc / BC, n_dv / Dataverse)

and its ceiling is `records / T`. For a full sync `T` is all writes; for a 1 % change it is
mostly the round trips, which no engine can avoid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from bench.costs import CONTRACT_BC_CONCURRENT, CONTRACT_DATAVERSE_CONCURRENT, ModelledCosts

DATAVERSE_BULK: Final = 1000
BC_BATCH: Final = 100
PAGE_SIZE: Final = 5000


@dataclass(frozen=True, slots=True)
class Workload:
    """The least a scenario must do.

    Attributes:
        records: records the scenario syncs (its throughput is counted in these).
        to_bc: records written to BC.
        to_dataverse: records written to Dataverse.
        read_from_bc: records read from BC.
        read_from_dataverse: records read from Dataverse.
        counterparts: whether coupled changes need their other side read first.
    """

    records: int
    to_bc: int = 0
    to_dataverse: int = 0
    read_from_bc: int = 0
    read_from_dataverse: int = 0
    counterparts: bool = False


def dataverse_write_rate(costs: ModelledCosts) -> float:
    """Records per second Dataverse accepts in bulk messages, sustained."""
    seconds = _request_seconds(costs, DATAVERSE_BULK)
    parallel = min(costs.dop_hint, CONTRACT_DATAVERSE_CONCURRENT)
    execution_per_second = costs.dataverse_max_execution_ms / 1000 / costs.window_seconds
    requests_per_second = costs.dataverse_max_requests / costs.window_seconds
    return min(
        parallel * _per_request(DATAVERSE_BULK, seconds),
        execution_per_second * _per_request(DATAVERSE_BULK, seconds),
        requests_per_second * DATAVERSE_BULK,
    )


def bc_write_rate(costs: ModelledCosts) -> float:
    """Records per second BC accepts in `$batch` requests, sustained."""
    seconds = _request_seconds(costs, BC_BATCH)
    requests_per_second = costs.bc_max_requests / costs.window_seconds
    return min(
        CONTRACT_BC_CONCURRENT * _per_request(BC_BATCH, seconds),
        requests_per_second * BC_BATCH,
    )


def least_seconds(costs: ModelledCosts, work: Workload) -> float:
    """The shortest time the limits allow for `work` (see the module docstring)."""
    latency = costs.latency_ms / 1000
    # A bidirectional mapping reads both sides, at least one (possibly empty) page each.
    pages = sum(
        max(1, math.ceil(read / PAGE_SIZE))
        for read in (work.read_from_bc, work.read_from_dataverse)
    )
    writes = max(
        work.to_bc / bc_write_rate(costs) if work.to_bc else 0.0,
        work.to_dataverse / dataverse_write_rate(costs) if work.to_dataverse else 0.0,
    )
    return pages * latency + (latency if work.counterparts else 0.0) + writes


def ceiling(costs: ModelledCosts, work: Workload) -> float | None:
    """The best records/s for `work`; None when it moves no records or nothing limits it."""
    if work.records <= 0 or not costs.protection:
        return None
    seconds = least_seconds(costs, work)
    return work.records / seconds if seconds > 0 else None


def _per_request(records: int, seconds: float) -> float:
    return records / seconds if seconds > 0 else math.inf


def _request_seconds(costs: ModelledCosts, records: int) -> float:
    return (costs.latency_ms + records * costs.record_cost_ms) / 1000

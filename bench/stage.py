"""What one group of scenarios runs against: the plan of a size, the served sandbox, a company."""

from __future__ import annotations

from dataclasses import dataclass

from bench.control import SandboxControl
from bench.costs import ModelledCosts
from bench.served import SandboxUrls


@dataclass(frozen=True, slots=True)
class SizePlan:
    """How to run one size.

    Attributes:
        size: records in the table (N).
        costs: the sandbox's modelled costs and limits.
        baseline_sample: most records the baseline syncs per scenario (its rate is scaled).
        secret: the sandbox client's secret.
    """

    size: int
    costs: ModelledCosts
    baseline_sample: int
    secret: str


@dataclass(frozen=True, slots=True)
class Stage:
    """A served sandbox, its control planes, and the BC company the scenarios sync."""

    plan: SizePlan
    urls: SandboxUrls
    control: SandboxControl
    company_id: str

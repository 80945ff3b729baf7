"""Frozen value objects shared by the engine, the adapters and the entrypoints."""

from __future__ import annotations

from sync.models.base import AwareDatetime, FrozenModel, JsonScalar
from sync.models.business_relation import BusinessRelation
from sync.models.coupling import Coupling, SyncResult
from sync.models.filter import AnyOf, Condition, Filter, Operator
from sync.models.lease import Lease
from sync.models.mapping import (
    ConflictPolicy,
    DeletionPolicy,
    Direction,
    FieldMapping,
    Lookup,
    LookupFailure,
    LookupVia,
    MappingSet,
    MatchingSettings,
    MatchSettings,
    TableMapping,
)
from sync.models.record import ChangePage, Record, WriteKind, WriteOutcome, WriteRequest
from sync.models.run import ErrorClass, RecordError, Run, RunCounters, RunMode, RunStatus
from sync.models.scope import Scope
from sync.models.side import Side
from sync.models.transform import TransformRule
from sync.models.watermark import Watermark

__all__ = [
    "AnyOf",
    "AwareDatetime",
    "BusinessRelation",
    "ChangePage",
    "Condition",
    "ConflictPolicy",
    "Coupling",
    "DeletionPolicy",
    "Direction",
    "ErrorClass",
    "FieldMapping",
    "Filter",
    "FrozenModel",
    "JsonScalar",
    "Lease",
    "Lookup",
    "LookupFailure",
    "LookupVia",
    "MappingSet",
    "MatchSettings",
    "MatchingSettings",
    "Operator",
    "Record",
    "RecordError",
    "Run",
    "RunCounters",
    "RunMode",
    "RunStatus",
    "Scope",
    "Side",
    "SyncResult",
    "TableMapping",
    "TransformRule",
    "Watermark",
    "WriteKind",
    "WriteOutcome",
    "WriteRequest",
]

"""A mapping session: the lease, lookups and coupling index one piece of work on a mapping needs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from sync.engine.coupling_index import CouplingIndex
from sync.engine.create_guard import CreateGuard
from sync.engine.lookups import load_lookups
from sync.engine.planner import PlanContext
from sync.errors import SyncError
from sync.models import MappingSet, TableMapping
from sync.ports import CouplingStore, LeaseStore, SideGateway


class AlreadyRunningError(SyncError):
    """Another run holds the mapping's lease."""


@dataclass(frozen=True)
class MappingSession:
    """What planning and applying on one mapping needs, valid while the lease is held."""

    context: PlanContext
    index: CouplingIndex
    recovered: int = 0


@asynccontextmanager
async def mapping_session(
    *,
    scope: str,
    configuration: MappingSet,
    mapping: TableMapping,
    couplings: CouplingStore,
    leases: LeaseStore,
    bc: SideGateway,
    dataverse: SideGateway,
    owner: str,
    lease_ttl: timedelta,
    create_missing: bool,
) -> AsyncIterator[MappingSession]:
    """Hold the mapping's lease and load its lookups and couplings; release on exit.

    Raises:
        AlreadyRunningError: Another run holds the lease; nothing was done.
    """
    lease = await leases.acquire_lease(f"{scope}|{mapping.name}", owner, lease_ttl)
    if lease is None:
        raise AlreadyRunningError(f"mapping {mapping.name} is already running")
    try:
        lookups = await load_lookups(
            configuration, mapping, scope=scope, couplings=couplings, bc=bc, dataverse=dataverse
        )
        index = await CouplingIndex.load(couplings, scope, mapping.name)
        guard = CreateGuard(store=couplings, scope=scope, mapping=mapping)
        recovered = await guard.recover(bc, index)
        context = PlanContext(
            scope=scope, mapping=mapping, lookups=lookups, create_missing=create_missing
        )
        yield MappingSession(context=context, index=index, recovered=len(recovered))
    finally:
        await leases.release_lease(lease)

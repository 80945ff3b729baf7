"""Ports: the small interfaces the engine talks to, each with an adapter and an in-memory fake.

Every method is async. Adapters translate their technology's failures into ``StoreError`` (and
``ConcurrencyError`` for a lost ETag race); nothing else escapes them. Scope keys (``Scope.key``)
are part of every key, so several BC companies share one store without mixing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sync.models import (
    BusinessRelation,
    ChangePage,
    Coupling,
    JsonScalar,
    Lease,
    MappingSet,
    Record,
    RecordError,
    Run,
    Side,
    TableMapping,
    Watermark,
    WriteOutcome,
    WriteRequest,
)
from sync.models.idempotency import StoredResponse
from sync.models.work import RunProgress, WorkResult


class Clock(Protocol):
    """Where the engine takes the time from (tests pass a fixed or stepping clock)."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class MappingStore(Protocol):
    """The mapping configuration of each scope."""

    async def load_mappings(self, scope: str) -> MappingSet | None:
        """The saved configuration of ``scope``, or None when none was saved (use the defaults)."""
        ...

    async def save_mappings(self, scope: str, mappings: MappingSet) -> None:
        """Replace the configuration of ``scope``."""
        ...

    async def delete_mappings(self, scope: str) -> None:
        """Forget the saved configuration, so the defaults apply again (reset to defaults)."""
        ...


class CouplingStore(Protocol):
    """Couplings of BC records to Dataverse rows, one partition per scope and mapping.

    Contract: within one scope and mapping, a BC id and a Dataverse id each belong to at most
    one coupling. ``put_couplings`` replaces couplings with the same BC id; callers remove a
    coupling before re-coupling either id elsewhere.
    """

    async def get_by_bc_id(self, scope: str, mapping: str, bc_id: str) -> Coupling | None:
        """The coupling of one BC record, or None."""
        ...

    async def get_by_dataverse_id(
        self, scope: str, mapping: str, dataverse_id: str
    ) -> Coupling | None:
        """The coupling of one Dataverse row, or None."""
        ...

    def load_couplings(
        self, scope: str, mapping: str, *, skipped_only: bool = False
    ) -> AsyncIterator[Coupling]:
        """Stream the couplings of one mapping in no set order; only skipped ones if asked."""
        ...

    async def put_couplings(self, couplings: Sequence[Coupling]) -> None:
        """Insert or replace couplings (any scopes and mappings); batched by the adapter."""
        ...

    async def delete_couplings(self, couplings: Sequence[Coupling]) -> None:
        """Remove couplings; removing one that is already gone is not an error."""
        ...


class WatermarkStore(Protocol):
    """Read cursors per scope, mapping and side, written with optimistic concurrency."""

    async def load_watermark(self, scope: str, mapping: str, side: Side) -> Watermark | None:
        """The saved watermark, or None before the first run; its ``etag`` is set."""
        ...

    async def save_watermark(self, watermark: Watermark) -> Watermark:
        """Save and return the watermark with its new ``etag``.

        Raises:
            ConcurrencyError: ``watermark.etag`` is stale, or None while a watermark exists.
        """
        ...


class LeaseStore(Protocol):
    """Mutual exclusion of runs: one holder per name until it releases or the lease expires."""

    async def acquire_lease(self, name: str, owner: str, ttl: timedelta) -> Lease | None:
        """Take the lease if free or expired; None when someone else holds it.

        Of many concurrent callers exactly one gets the lease.
        """
        ...

    async def renew_lease(self, lease: Lease, ttl: timedelta) -> Lease:
        """Extend a held lease.

        Raises:
            ConcurrencyError: The lease was lost (expired and taken by someone else).
        """
        ...

    async def release_lease(self, lease: Lease) -> None:
        """Give the lease up; releasing a lease that was already lost is not an error."""
        ...


class RunStore(Protocol):
    """Run history and per-record errors."""

    async def save_run(self, run: Run) -> None:
        """Create or replace a run (start, counter updates, finish)."""
        ...

    async def get_run(self, scope: str, run_id: str) -> Run | None:
        """One run, or None."""
        ...

    async def list_runs(self, scope: str, *, limit: int = 50) -> list[Run]:
        """The latest runs of a scope, newest first."""
        ...

    async def add_errors(self, scope: str, errors: Sequence[RecordError]) -> None:
        """Record per-record errors of runs of this scope."""
        ...

    async def list_errors(self, scope: str, run_id: str) -> list[RecordError]:
        """Every per-record error of one run, in the order they were added."""
        ...


class SideGateway(Protocol):
    """One side (BC company or Dataverse environment) as the runner sees it, per mapping.

    Adapters translate a ``TableMapping`` into entity sets, selected fields and filters, stream
    pages, and write in batches with one outcome per request, in request order.
    """

    def read_changes(
        self, mapping: TableMapping, *, since: datetime | None, delta_token: str | None
    ) -> AsyncIterator[ChangePage]:
        """Stream changes since the watermark (everything when both are None)."""
        ...

    def read_by_ids(self, mapping: TableMapping, ids: Sequence[str]) -> AsyncIterator[Record]:
        """Stream the current state of the given records; missing ones are simply absent."""
        ...

    async def write(
        self, mapping: TableMapping, requests: Sequence[WriteRequest]
    ) -> list[WriteOutcome]:
        """Apply writes; one outcome per request, in order; one bad record fails only itself."""
        ...

    async def find_matching(
        self, mapping: TableMapping, values: Mapping[str, JsonScalar]
    ) -> list[Record]:
        """Records whose fields equal ``values`` (the create guard's lookup by match key)."""
        ...

    async def base_currency_id(self) -> str | None:
        """Dataverse's base transaction currency (a blank BC currency code); None for BC."""
        ...

    def read_business_relations(self, mapping: TableMapping) -> AsyncIterator[BusinessRelation]:
        """Stream the company contact of each BC customer or vendor that has one.

        ``mapping`` syncs BC customers or vendors; each relation names one of its records and
        the company contact linked to it. Dataverse has no such thing and yields nothing.
        """
        ...


class IdempotencyStore(Protocol):
    """The answers given to requests that carried an ``Idempotency-Key``.

    Contract: of several concurrent ``reserve_key`` calls with one key exactly one gets None
    (it may do the work); the others get the stored record. An expired record counts as absent.
    """

    async def reserve_key(self, record: StoredResponse) -> StoredResponse | None:
        """Reserve ``record.key`` for a request; None when reserved now, else the live record."""
        ...

    async def complete_key(self, record: StoredResponse) -> None:
        """Store the answer of a reserved key (``record.status`` set)."""
        ...

    async def release_key(self, key: str) -> None:
        """Forget a key (the request failed on our side, so a retry may do the work)."""
        ...

    async def purge_expired(self) -> int:
        """Delete expired keys; returns how many were deleted."""
        ...


class WorkLedger(Protocol):
    """Stages and item results of runs split over the work queue, one partition per run.

    Contract: ``claim_stage`` succeeds for the first owner of a stage and again for that same
    owner (a redelivered message); ``save_result`` replaces an item's earlier result.
    """

    async def claim_stage(self, scope: str, run_id: str, stage: int, owner: str) -> bool:
        """Claim a stage; True for its first owner and that owner again, else False."""
        ...

    async def complete_split(
        self,
        scope: str,
        run_id: str,
        stage: int,
        item_ids: Sequence[str],
        *,
        note: str | None = None,
    ) -> None:
        """Record the items a stage was split into (replacing an earlier listing)."""
        ...

    async def save_result(self, scope: str, run_id: str, result: WorkResult) -> None:
        """Save what one item did."""
        ...

    async def has_result(self, scope: str, run_id: str, item_id: str) -> bool:
        """True when the item was done already."""
        ...

    async def load_progress(self, scope: str, run_id: str) -> RunProgress:
        """Every stage and result of one run."""
        ...


class WorkQueue(Protocol):
    """The queue long operations are handed to; a queue-triggered function processes them.

    Delivery is at least once: a message may be processed twice, so handlers are idempotent.
    """

    async def send_work(self, messages: Sequence[str]) -> None:
        """Enqueue messages (JSON texts of at most 48 KiB each, before encoding)."""
        ...

"""What the triggers work with: built once per process from the settings, or set by a test.

Nothing is built at import. The first trigger that needs the engine calls
``get_dependencies()``, which reads the cached settings and opens the engine, the work queue
and the API's own tables; later calls get the same objects. Tests and local tools hand in
their own with ``use_dependencies`` (for example an engine over the sandbox emulators).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sync.settings import SyncApiSettings, get_settings

if TYPE_CHECKING:
    # Types only: the engine and its adapters load when the first trigger needs them.
    from sync.bootstrap import Engine
    from sync.engine.runner import Runner
    from sync.entrypoints.status_link import StatusLinks
    from sync.ports import IdempotencyStore, WorkLedger, WorkQueue

Closer = Callable[[], Awaitable[None]]


@dataclass
class Dependencies:
    """The engine and everything around it that the triggers share.

    Attributes:
        engine: The sync engine (clients of both services and the state store).
        companies: The BC company ids this app syncs (``SYNC_BC__COMPANIES``).
        work_queue: Where long operations are handed over to the queue trigger.
        idempotency: Answers kept for ``Idempotency-Key`` replays.
        ledger: Stages and item results of runs split over the work queue.
        api: The API's settings (``SYNC_API__*``).
        status_links: Signs and checks the status links of long operations.
        closers: Extra resources to release on ``close``.
    """

    engine: Engine
    companies: tuple[str, ...]
    work_queue: WorkQueue
    idempotency: IdempotencyStore
    ledger: WorkLedger
    api: SyncApiSettings
    status_links: StatusLinks
    closers: list[Closer] = field(default_factory=list)

    def runner(self, company: str, *, run_id: str | None = None) -> Runner:
        """A runner for one company; with ``run_id`` its next run gets that id."""
        return self.engine.runner(company, new_run_id=(lambda: run_id) if run_id else None)

    async def close(self) -> None:
        """Close the engine and every extra resource."""
        await self.engine.close()
        for close in self.closers:
            await close()


class _Provider:
    """Holds the process's dependencies; opening them happens once, on first use."""

    def __init__(self) -> None:
        self.current: Dependencies | None = None
        self.opening: asyncio.Task[Dependencies] | None = None


_provider = _Provider()


def use_dependencies(dependencies: Dependencies | None) -> None:
    """Make every trigger use ``dependencies``; None goes back to building them from settings.

    The caller owns what it hands in (and closes it).
    """
    _provider.current = dependencies
    _provider.opening = None


async def get_dependencies() -> Dependencies:
    """The process's dependencies, opened from the settings on first use.

    Raises:
        ConfigError: A setting needed to open them is missing or unusable.
    """
    if _provider.current is not None:
        return _provider.current
    if _provider.opening is None:
        # The adapters (Azure SDKs, msal, httpx) load here, not at import: a cold start only
        # pays for them when a trigger first needs them.
        from sync.entrypoints.production import open_dependencies  # noqa: PLC0415

        _provider.opening = asyncio.ensure_future(open_dependencies(get_settings()))
    opening = _provider.opening
    try:
        _provider.current = await asyncio.shield(opening)
    finally:
        if _provider.current is None and opening.done():
            _provider.opening = None  # failed: a fixed setting or a store back up counts next time
    return _provider.current

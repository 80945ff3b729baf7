"""State store adapters: Azure Table Storage (production) and SQLite (CLI and demo).

Both implement every store port of ``sync.ports`` and are bundled by a container that follows
``StateStore``: ``TableStateStore`` and ``SqliteStateStore``.
"""

from __future__ import annotations

from sync.store.sqlite import SqliteStateStore
from sync.store.state import StateStore
from sync.store.table import TableStateStore
from sync.store.table_couplings import TableCouplingStore
from sync.store.table_leases import TableLeaseStore
from sync.store.table_mappings import TableMappingStore
from sync.store.table_runs import TableRunStore
from sync.store.table_watermarks import TableWatermarkStore

__all__ = [
    "SqliteStateStore",
    "StateStore",
    "TableCouplingStore",
    "TableLeaseStore",
    "TableMappingStore",
    "TableRunStore",
    "TableStateStore",
    "TableWatermarkStore",
]

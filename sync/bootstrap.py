"""Composition root: turns settings into real adapters. The only place that picks technologies."""

from __future__ import annotations

from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

from sync.clock import SystemClock
from sync.ports import Clock
from sync.settings import SqliteTarget, StoreTarget, TableConnectionTarget
from sync.store import SqliteStateStore, StateStore, TableStateStore


def open_state_store(target: StoreTarget, *, clock: Clock | None = None) -> StateStore:
    """Build the state store a target names; call ``ensure_tables`` before first use.

    A user-assigned identity is used when its client id is known; otherwise the default
    credential chain (system-assigned identity in Azure, developer sign-in locally).
    """
    clock = clock or SystemClock()
    if isinstance(target, SqliteTarget):
        return SqliteStateStore(target.path, clock=clock)
    if isinstance(target, TableConnectionTarget):
        return TableStateStore.from_connection_string(
            target.connection_string.get_secret_value(),
            table_prefix=target.table_prefix,
            clock=clock,
        )
    credential = (
        ManagedIdentityCredential(client_id=target.client_id)
        if target.client_id
        else DefaultAzureCredential()
    )
    return TableStateStore.from_account_url(
        target.endpoint, credential, table_prefix=target.table_prefix, clock=clock
    )

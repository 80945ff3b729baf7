"""The mapping configuration of a scope: the saved set, or BC's defaults until one is saved."""

from __future__ import annotations

from sync.mappings.conformance import check_mappings
from sync.mappings.standard import standard_mappings
from sync.models import MappingSet
from sync.ports import MappingStore


async def load_configuration(store: MappingStore, scope: str) -> MappingSet:
    """The scope's saved mappings, or the standard set when none were saved."""
    saved = await store.load_mappings(scope)
    return saved if saved is not None else standard_mappings()


async def replace_configuration(store: MappingStore, scope: str, mappings: MappingSet) -> None:
    """Check a mapping set against the catalogue, then make it the scope's configuration.

    Raises:
        MappingError: The set is unsound; nothing is saved.
    """
    check_mappings(mappings, source=f"the mappings for {scope}")
    await store.save_mappings(scope, mappings)


async def reset_configuration(store: MappingStore, scope: str) -> MappingSet:
    """Forget the scope's saved mappings and return the standard set that applies again."""
    await store.delete_mappings(scope)
    return standard_mappings()

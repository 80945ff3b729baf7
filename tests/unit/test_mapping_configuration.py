from __future__ import annotations

import pytest

from sync.errors import MappingError
from sync.mappings import standard_mappings
from sync.mappings.configuration import (
    load_configuration,
    replace_configuration,
    reset_configuration,
)
from sync.models import FieldMapping
from tests.fakes.store import InMemoryMappingStore

SCOPE = "contoso:production:company-a"


async def test_standard_set_applies_when_nothing_was_saved():
    assert await load_configuration(InMemoryMappingStore(), SCOPE) == standard_mappings()


async def test_saved_set_applies_to_its_scope_only_when_replaced():
    store = InMemoryMappingStore()
    standard = standard_mappings()
    custom = standard.model_copy(update={"mappings": standard.mappings[:1]})
    await replace_configuration(store, SCOPE, custom)
    assert await load_configuration(store, SCOPE) == custom
    assert await load_configuration(store, "contoso:production:company-b") == standard


async def test_unknown_field_is_refused_and_nothing_saved_when_replacing():
    store = InMemoryMappingStore()
    standard = standard_mappings()
    currency = standard.get("CURRENCY")
    broken_field = FieldMapping(
        bc_field="noSuchField", dataverse_field="currencyname", direction="to_dataverse"
    )
    broken = standard.model_copy(
        update={
            "mappings": (currency.model_copy(update={"fields": (*currency.fields, broken_field)}),)
        }
    )
    with pytest.raises(MappingError, match="noSuchField"):
        await replace_configuration(store, SCOPE, broken)
    assert await store.load_mappings(SCOPE) is None


async def test_reset_returns_to_standard_set_when_custom_set_was_saved():
    store = InMemoryMappingStore()
    standard = standard_mappings()
    await replace_configuration(
        store, SCOPE, standard.model_copy(update={"mappings": standard.mappings[:1]})
    )
    assert await reset_configuration(store, SCOPE) == standard
    assert await load_configuration(store, SCOPE) == standard

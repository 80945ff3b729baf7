"""Build the lookup tables a mapping needs from other mappings' couplings."""

from __future__ import annotations

from collections.abc import Iterable

from sync.engine.fields import LookupTable
from sync.models import Coupling, MappingSet, TableMapping
from sync.ports import CouplingStore, SideGateway


async def load_lookups(
    mappings: MappingSet,
    mapping: TableMapping,
    *,
    scope: str,
    couplings: CouplingStore,
    bc: SideGateway,
    dataverse: SideGateway,
) -> dict[str, LookupTable]:
    """One ``LookupTable`` per mapping that ``mapping``'s lookups go through.

    The BC key is usually in the coupling's base (a currency's ``code``); when it is not (a
    salesperson's ``code`` is not a synced field), the coupled BC records are read by id.
    """
    tables: dict[str, LookupTable] = {}
    for field in mapping.fields:
        lookup = field.lookup
        if lookup is None or lookup.mapping in tables:
            continue
        target = mappings.get(lookup.mapping)
        coupled = [c async for c in couplings.load_couplings(scope, target.name)]
        keys = await _bc_keys(target, lookup.bc_key, coupled, bc)
        by_bc = {keys[c.bc_id]: c.dataverse_id for c in coupled if c.bc_id in keys}
        base = await dataverse.base_currency_id() if lookup.blank_is_base_currency else None
        tables[target.name] = LookupTable(
            mapping=target.name,
            entity_set=target.dataverse_entity_set,
            dataverse_by_bc=by_bc,
            bc_by_dataverse={dataverse_id: key for key, dataverse_id in by_bc.items()},
            is_option=target.is_option,
            base_currency_id=base,
        )
    return tables


async def _bc_keys(
    target: TableMapping, bc_key: str, coupled: Iterable[Coupling], bc: SideGateway
) -> dict[str, str]:
    coupled = list(coupled)
    if bc_key == "id":
        return {c.bc_id: c.bc_id for c in coupled}
    known = {c.bc_id: str(c.base_bc[bc_key]) for c in coupled if c.base_bc.get(bc_key)}
    missing = [c.bc_id for c in coupled if c.bc_id not in known]
    if missing:
        async for record in bc.read_by_ids(target, missing):
            value = record.values.get(bc_key)
            if value not in (None, ""):
                known[record.id] = str(value)
    return known

"""Build the lookup tables a mapping needs from other mappings' couplings."""

from __future__ import annotations

from collections.abc import Iterable

from sync.engine.company_link import load_company_links
from sync.engine.fields import LookupTable
from sync.models import Coupling, Lookup, LookupVia, MappingSet, TableMapping
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
    """One ``LookupTable`` per distinct lookup of ``mapping``, by ``Lookup.table_key``.

    The BC key is usually in the coupling's base (a currency's ``code``); when it is not (a
    salesperson's ``code`` is not a synced field), the coupled BC records are read by id. A
    lookup with fallbacks merges its mappings' translations, the first mapping winning; the
    company of a contact is built by ``company_link``.
    """
    tables: dict[str, LookupTable] = {}
    for field in mapping.fields:
        lookup = field.lookup
        if lookup is None or lookup.table_key in tables:
            continue
        if lookup.via is LookupVia.COMPANY_CONTACT:
            table = await load_company_links(
                mappings, lookup, scope=scope, couplings=couplings, bc=bc
            )
        else:
            table = await _coupling_table(
                mappings, lookup, scope=scope, couplings=couplings, bc=bc, dataverse=dataverse
            )
        tables[lookup.table_key] = table
    return tables


async def _coupling_table(
    mappings: MappingSet,
    lookup: Lookup,
    *,
    scope: str,
    couplings: CouplingStore,
    bc: SideGateway,
    dataverse: SideGateway,
) -> LookupTable:
    by_bc: dict[str, str] = {}
    for name in lookup.mappings:
        target = mappings.get(name)
        coupled = [c async for c in couplings.load_couplings(scope, target.name)]
        keys = await _bc_keys(target, lookup.bc_key, coupled, bc)
        for coupling in coupled:
            if coupling.bc_id in keys:
                by_bc.setdefault(keys[coupling.bc_id], coupling.dataverse_id)
    first = mappings.get(lookup.mapping)
    base = await dataverse.base_currency_id() if lookup.blank_is_base_currency else None
    return LookupTable(
        mapping=lookup.table_key,
        entity_set=first.dataverse_entity_set,
        dataverse_by_bc=by_bc,
        bc_by_dataverse=_inverse(by_bc),
        is_option=first.is_option,
        base_currency_id=base,
    )


def _inverse(by_bc: dict[str, str]) -> dict[str, str]:
    inverse: dict[str, str] = {}
    for key, dataverse_id in by_bc.items():
        inverse.setdefault(dataverse_id, key)
    return inverse


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

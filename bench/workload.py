"""What the benchmark syncs, and the user edits each incremental scenario makes.

The bench mapping is a CUSTOMER-like pair of customers and accounts with seven text fields in
both directions and no lookups: the standard CUSTOMER mapping needs currencies, salespeople and
payment terms coupled first, which would measure their setup rather than the customer load.
It syncs only coupled records (as BC's own does), so a full sync creates and an incremental
run updates; it has no match fields, so a full sync creates without reading the target first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sync.models import Coupling, Direction, FieldMapping, MappingSet, TableMapping

MAPPING_NAME: Final = "CUSTOMER"
CONFLICT_SHARE: Final = 0.10
"""Share of the pairs changed on both sides whose same field changed on both sides."""

FIELD_PAIRS: Final = (
    ("displayName", "name"),
    ("addressLine1", "address1_line1"),
    ("city", "address1_city"),
    ("postalCode", "address1_postalcode"),
    ("phoneNumber", "telephone1"),
    ("email", "emailaddress1"),
    ("website", "websiteurl"),
)
"""(BC field, Dataverse column) of every field the bench mapping syncs."""


def bench_mappings() -> MappingSet:
    """The one-mapping set the benchmark saves for its scope."""
    customer = TableMapping(
        name=MAPPING_NAME,
        bc_entity="customers",
        dataverse_table="account",
        dataverse_entity_set="accounts",
        direction=Direction.BIDIRECTIONAL,
        fields=tuple(
            FieldMapping(bc_field=bc, dataverse_field=dataverse) for bc, dataverse in FIELD_PAIRS
        ),
        sync_only_coupled=True,
        dataverse_defaults={"customertypecode": 3},
    )
    return MappingSet(mappings=(customer,))


Pair = tuple[str, str]
"""(BC id, Dataverse id) of one coupled record."""
Edit = tuple[str, dict[str, Any]]
"""(record id, changed fields) of one user edit."""


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """The user edits of one scenario, on each side.

    Attributes:
        bc: edits of BC customers.
        dataverse: edits of Dataverse accounts.
        records: coupled pairs changed (a pair changed on both sides counts once).
        conflicting: pairs whose same field changed on both sides.
    """

    bc: tuple[Edit, ...] = ()
    dataverse: tuple[Edit, ...] = ()
    records: int = 0
    conflicting: int = 0


async def every_nth(couplings: AsyncIterator[Coupling], step: int, offset: int) -> list[Pair]:
    """Every `step`-th coupled pair, starting at `offset`: a spread-out sample of the table.

    Streams the couplings, so only the chosen pairs are held.
    """
    chosen: list[Pair] = []
    position = 0
    async for coupling in couplings:
        if position % step == offset % step:
            chosen.append((coupling.bc_id, coupling.dataverse_id))
        position += 1
    return chosen


def changes_on_bc(pairs: Sequence[Pair], round_number: int) -> ChangeSet:
    """Rename the chosen customers in BC."""
    edits = tuple((bc_id, _renamed(round_number, i)) for i, (bc_id, _) in enumerate(pairs))
    return ChangeSet(bc=edits, records=len(pairs))


def changes_on_both(pairs: Sequence[Pair], round_number: int) -> ChangeSet:
    """Change the chosen pairs on both sides; `CONFLICT_SHARE` of them in the same field.

    BC renames every chosen customer. In Dataverse most of the same rows move to another city
    (a different field: the three-way merge keeps both changes), and `CONFLICT_SHARE` of them
    get another name (the same field changed on both sides: a conflict).
    """
    conflicting = round(len(pairs) * CONFLICT_SHARE)
    bc_edits = tuple((bc_id, _renamed(round_number, i)) for i, (bc_id, _) in enumerate(pairs))
    dataverse_edits = tuple(
        (dataverse_id, {"name": f"Renamed account {round_number}-{i}"})
        if i < conflicting
        else (dataverse_id, {"address1_city": f"City {round_number}-{i}"})
        for i, (_, dataverse_id) in enumerate(pairs)
    )
    return ChangeSet(
        bc=bc_edits, dataverse=dataverse_edits, records=len(pairs), conflicting=conflicting
    )


def _renamed(round_number: int, index: int) -> dict[str, Any]:
    return {"displayName": f"Renamed customer {round_number}-{index}"}

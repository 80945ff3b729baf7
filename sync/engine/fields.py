"""Field values between the sides: read one side's value, translate it, shape it for writing.

Values are compared and stored in a canonical form per side: BC values as the API returns them;
Dataverse lookups as the lower-case id (read from ``_<column>_value``), choices as integers.
Lookups translate through other mappings' couplings, held in a ``LookupTable`` per mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sync.engine.transform import apply_transforms
from sync.errors import SyncError
from sync.models import FieldMapping, JsonScalar, LookupFailure

BC_BUSINESS_KEYS = ("code", "number")
"""BC keys other mappings' lookups translate through (a salesperson's ``code``). Kept in the
coupling's base so a lookup never has to read the BC record again."""

UNCHANGED = object()
"""Returned by a translation that must leave the destination as it is (BC's "Not Null")."""


_EMPTY_GUID = "00000000-0000-0000-0000-000000000000"


def same_value(left: object, right: object) -> bool:
    """Equal as synced values: blank text, null and BC's empty GUID all mean "no value"."""
    return _blank_to_none(left) == _blank_to_none(right)


def _blank_to_none(value: object) -> object:
    return None if value in ("", _EMPTY_GUID) else value


class LookupFailedError(SyncError):
    """A lookup value has no coupling to translate through, and the field says: fail the record."""


@dataclass(frozen=True)
class LookupTable:
    """One lookup mapping's translations, derived from its couplings.

    ``dataverse_by_bc`` maps the BC key value (a code such as ``EUR``, or a BC id) to the coupled
    Dataverse id, or, for option mappings, to the choice value as text.
    """

    mapping: str
    entity_set: str
    dataverse_by_bc: Mapping[str, str] = field(default_factory=dict)
    bc_by_dataverse: Mapping[str, str] = field(default_factory=dict)
    is_option: bool = False
    base_currency_id: str | None = None


def read_bc(mapping: FieldMapping, values: Mapping[str, JsonScalar]) -> JsonScalar:
    """The canonical BC value of a field mapping (its constant for one-sided mappings)."""
    if mapping.bc_field is None:
        return mapping.constant
    return values.get(mapping.bc_field)


def read_dataverse(
    mapping: FieldMapping, values: Mapping[str, JsonScalar], lookups: Mapping[str, LookupTable]
) -> JsonScalar:
    """The canonical Dataverse value: lookups from ``_<column>_value``, lower-cased."""
    column = mapping.dataverse_field
    if column is None:
        return mapping.constant
    if _is_reference(mapping, lookups):
        value = values.get(f"_{column}_value")
        return value.lower() if isinstance(value, str) else value
    return values.get(column)


def translate_to_dataverse(
    mapping: FieldMapping, bc_value: JsonScalar, lookups: Mapping[str, LookupTable]
) -> object:
    """The Dataverse value for a BC value: transformed, then looked up.

    Returns ``UNCHANGED`` when an unresolved lookup must leave the destination alone.

    Raises:
        LookupFailedError: Unresolved lookup whose field fails the record.
    """
    value = apply_transforms(bc_value, mapping.transforms_to_dataverse)
    if mapping.lookup is None:
        return value
    table = lookups.get(mapping.lookup.mapping)
    if _not_set_up(table):
        return UNCHANGED
    if value in (None, ""):
        if mapping.lookup.blank_is_base_currency and table is not None:
            return table.base_currency_id
        # BC's "Not Null": a blank owner must not clear the row's owner.
        return UNCHANGED if mapping.lookup.on_failure is LookupFailure.LEAVE_UNCHANGED else None
    found = table.dataverse_by_bc.get(str(value)) if table is not None else None
    if found is None:
        return _unresolved(mapping, value)
    return int(found) if table is not None and table.is_option else found


def translate_to_bc(
    mapping: FieldMapping, dataverse_value: JsonScalar, lookups: Mapping[str, LookupTable]
) -> object:
    """The BC value for a Dataverse value: looked up, then transformed.

    Raises:
        LookupFailedError: Unresolved lookup whose field fails the record.
    """
    value: object = dataverse_value
    if mapping.lookup is not None:
        table = lookups.get(mapping.lookup.mapping)
        if _not_set_up(table):
            return UNCHANGED
        if value in (None, ""):
            value = ""
        elif table is not None and table.base_currency_id == value:
            value = "" if mapping.lookup.blank_is_base_currency else value
        else:
            found = table.bc_by_dataverse.get(str(value)) if table is not None else None
            if found is None:
                return _unresolved(mapping, dataverse_value)
            value = found
    if value is UNCHANGED:
        return value
    return apply_transforms(value, mapping.transforms_from_dataverse)  # type: ignore[arg-type]


def dataverse_payload(
    mapping: FieldMapping, value: JsonScalar, lookups: Mapping[str, LookupTable]
) -> tuple[str, JsonScalar]:
    """The body key and value that write a canonical Dataverse value.

    Example: ``transactioncurrencyid`` with ``"8f1e..."`` becomes
    ``("transactioncurrencyid@odata.bind", "/transactioncurrencies(8f1e...)")``.
    """
    column = mapping.dataverse_field
    if column is None:
        raise ValueError(f"{mapping.label} writes nothing to Dataverse")
    if not _is_reference(mapping, lookups) or mapping.lookup is None:
        return column, value
    table = lookups.get(mapping.lookup.mapping)
    if table is None:
        raise LookupFailedError(f"{mapping.label}: mapping {mapping.lookup.mapping} is not loaded")
    entity_set = table.entity_set
    return f"{column}@odata.bind", None if value is None else f"/{entity_set}({value})"


def _not_set_up(table: LookupTable | None) -> bool:
    # An option mapping with no coupled choice yet translates nothing: leave the column alone
    # rather than clear every row's choice before an admin has coupled the options.
    return table is not None and table.is_option and not table.dataverse_by_bc


def _is_reference(mapping: FieldMapping, lookups: Mapping[str, LookupTable]) -> bool:
    if mapping.lookup is None:
        return False
    table = lookups.get(mapping.lookup.mapping)
    return table is None or not table.is_option


def _unresolved(mapping: FieldMapping, value: object) -> object:
    assert mapping.lookup is not None  # noqa: S101 - only lookups reach here
    policy = mapping.lookup.on_failure
    if policy is LookupFailure.LEAVE_UNCHANGED:
        return UNCHANGED
    if policy is LookupFailure.CLEAR_VALUE:
        return None
    raise LookupFailedError(
        f"{mapping.label}: {value!r} is not coupled in mapping {mapping.lookup.mapping}; "
        f"sync {mapping.lookup.mapping} first or couple the record"
    )

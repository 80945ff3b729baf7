"""Field values between the sides: read one side's value, translate it, shape it for writing.

Values are compared and stored in a canonical form per side: BC values as the API returns them;
Dataverse lookups as the lower-case id (read from ``_<column>_value``), choices as integers.
A polymorphic lookup (``Lookup.dataverse_target``) whose row points at another table than the
lookup's reads as ``<table>(<id>)``, for example ``contact(2e45…)``: a value no table
translates, and one that differs from every id in a coupling's base.

Lookups translate through other mappings' couplings, held in a ``LookupTable`` per lookup
(``Lookup.table_key``). A table may carry a ``LookupExplainer`` that words why a value has no
translation (the company link of contacts does: ``company_link.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sync.engine.transform import apply_transforms
from sync.errors import SyncError
from sync.models import FieldMapping, JsonScalar, Lookup, LookupFailure, LookupVia

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


LOOKUP_TABLE_ANNOTATION = "@Microsoft.Dynamics.CRM.lookuplogicalname"
"""Suffix of the value that names a lookup's target table (``_<column>_value@…``); the
Dataverse connector keeps it in ``Record.values`` next to the lookup."""

_FOREIGN = re.compile(r"^(?P<table>[a-z][a-z0-9_]*)\((?P<id>[^()]+)\)$")


class LookupFailedError(SyncError):
    """A lookup value has no coupling to translate through, and the field says: fail the record.

    Attributes:
        code: The per-record error code: ``LookupNotCoupled``, or ``CompanyLinkUnresolved`` for
            the company of a contact.
    """

    def __init__(self, message: str, *, code: str = "LookupNotCoupled") -> None:
        super().__init__(message)
        self.code = code


class LookupExplainer(Protocol):
    """Words why a value has no translation, naming what is missing and how to fix it."""

    def explain_bc(self, value: str | None) -> str:
        """Why the BC value (None: blank) has no Dataverse counterpart."""
        ...

    def explain_dataverse(self, value: str | None) -> str:
        """Why the Dataverse value (None: blank) has no BC counterpart."""
        ...


@dataclass(frozen=True)
class LookupTable:
    """One lookup's translations, derived from its mappings' couplings.

    ``dataverse_by_bc`` maps the BC key value (a code such as ``EUR``, or a BC id) to the coupled
    Dataverse id, or, for option mappings, to the choice value as text. ``explainer``, when set,
    words the failures of this table's lookups.
    """

    mapping: str
    entity_set: str
    dataverse_by_bc: Mapping[str, str] = field(default_factory=dict)
    bc_by_dataverse: Mapping[str, str] = field(default_factory=dict)
    is_option: bool = False
    base_currency_id: str | None = None
    explainer: LookupExplainer | None = None


def foreign_reference(value: object) -> tuple[str, str] | None:
    """The (table, id) of a polymorphic lookup value that points at another table, else None."""
    found = _FOREIGN.match(value) if isinstance(value, str) else None
    return (found["table"], found["id"]) if found else None


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
        if not isinstance(value, str):
            return value
        target = mapping.lookup.dataverse_target if mapping.lookup is not None else None
        table = values.get(f"_{column}_value{LOOKUP_TABLE_ANNOTATION}")
        if target is not None and isinstance(table, str) and table != target:
            return f"{table}({value.lower()})"
        return value.lower()
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
    lookup = mapping.lookup
    if lookup is None:
        return value
    table = lookups.get(lookup.table_key)
    if _not_set_up(table):
        return UNCHANGED
    if value in (None, ""):
        return _blank_to_dataverse(mapping, table)
    found = table.dataverse_by_bc.get(str(value)) if table is not None else None
    if found is None:
        return _unresolved(mapping, value, table, to_dataverse=True)
    return int(found) if table is not None and table.is_option else found


def translate_to_bc(
    mapping: FieldMapping, dataverse_value: JsonScalar, lookups: Mapping[str, LookupTable]
) -> object:
    """The BC value for a Dataverse value: looked up, then transformed.

    Raises:
        LookupFailedError: Unresolved lookup whose field fails the record.
    """
    value: object = dataverse_value
    lookup = mapping.lookup
    if lookup is not None:
        table = lookups.get(lookup.table_key)
        if _not_set_up(table):
            return UNCHANGED
        if value in (None, "") and _required(lookup):
            return _unresolved(mapping, None, table, to_dataverse=False)
        if value in (None, ""):
            value = ""
        elif table is not None and table.base_currency_id == value:
            value = "" if lookup.blank_is_base_currency else value
        else:
            found = table.bc_by_dataverse.get(str(value)) if table is not None else None
            if found is None:
                return _unresolved(mapping, dataverse_value, table, to_dataverse=False)
            value = found
    if value is UNCHANGED:
        return value
    return apply_transforms(value, mapping.transforms_from_dataverse)  # type: ignore[arg-type]


def dataverse_payload(
    mapping: FieldMapping, value: JsonScalar, lookups: Mapping[str, LookupTable]
) -> tuple[str, JsonScalar]:
    """The body key and value that write a canonical Dataverse value.

    Example: ``transactioncurrencyid`` with ``"8f1e..."`` becomes
    ``("transactioncurrencyid@odata.bind", "/transactioncurrencies(8f1e...)")``; a polymorphic
    lookup binds through its target's navigation property: ``parentcustomerid`` to an account
    becomes ``("parentcustomerid_account@odata.bind", "/accounts(2e45...)")``.
    """
    column = mapping.dataverse_field
    if column is None:
        raise ValueError(f"{mapping.label} writes nothing to Dataverse")
    lookup = mapping.lookup
    if not _is_reference(mapping, lookups) or lookup is None:
        return column, value
    table = lookups.get(lookup.table_key)
    if table is None:
        raise LookupFailedError(f"{mapping.label}: lookup {lookup.table_key} is not loaded")
    entity_set = table.entity_set
    navigation = (
        column if lookup.dataverse_target is None else f"{column}_{lookup.dataverse_target}"
    )
    return f"{navigation}@odata.bind", None if value is None else f"/{entity_set}({value})"


def _not_set_up(table: LookupTable | None) -> bool:
    # An option mapping with no coupled choice yet translates nothing: leave the column alone
    # rather than clear every row's choice before an admin has coupled the options.
    return table is not None and table.is_option and not table.dataverse_by_bc


def _is_reference(mapping: FieldMapping, lookups: Mapping[str, LookupTable]) -> bool:
    if mapping.lookup is None:
        return False
    table = lookups.get(mapping.lookup.table_key)
    return table is None or not table.is_option


def _blank_to_dataverse(mapping: FieldMapping, table: LookupTable | None) -> object:
    lookup = mapping.lookup
    assert lookup is not None  # noqa: S101 - only lookups reach here
    if lookup.blank_is_base_currency and table is not None:
        return table.base_currency_id
    if _required(lookup):
        return _unresolved(mapping, None, table, to_dataverse=True)
    # BC's "Not Null": a blank owner must not clear the row's owner.
    return UNCHANGED if lookup.on_failure is LookupFailure.LEAVE_UNCHANGED else None


def _required(lookup: Lookup) -> bool:
    # A contact without a company is not synced (BC's rule), so a blank company fails it.
    return (
        lookup.via is LookupVia.COMPANY_CONTACT and lookup.on_failure is LookupFailure.FAIL_RECORD
    )


def _unresolved(
    mapping: FieldMapping, value: object, table: LookupTable | None, *, to_dataverse: bool
) -> object:
    lookup = mapping.lookup
    assert lookup is not None  # noqa: S101 - only lookups reach here
    policy = lookup.on_failure
    if policy is LookupFailure.LEAVE_UNCHANGED:
        return UNCHANGED
    if policy is LookupFailure.CLEAR_VALUE:
        return None
    text = None if value is None else str(value)
    explainer = table.explainer if table is not None else None
    if explainer is not None:
        reason = (
            explainer.explain_dataverse(text) if not to_dataverse else explainer.explain_bc(text)
        )
    elif (foreign := foreign_reference(value)) is not None:
        target = lookup.dataverse_target
        reason = (
            f"{foreign[1]!r} is in the {foreign[0]} table, but only {target} rows translate "
            f"through {' or '.join(lookup.mappings)}; point it at a coupled {target} row"
        )
    else:
        names = " or ".join(lookup.mappings)
        reason = (
            f"{value!r} is not coupled in mapping {names}; sync {names} first or couple the record"
        )
    code = (
        "CompanyLinkUnresolved" if lookup.via is LookupVia.COMPANY_CONTACT else "LookupNotCoupled"
    )
    raise LookupFailedError(f"{mapping.label}: {reason}", code=code)

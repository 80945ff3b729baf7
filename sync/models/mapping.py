"""Table mappings and field mappings: what is synced, in which direction, under which policies.

A ``TableMapping`` pairs one Business Central API entity set with one Dataverse table (BC's
Integration Table Mapping); its ``FieldMapping`` rows pair fields (BC's Integration Field Mapping).
``MappingSet`` is the whole configuration of one scope, checked as a unit: names are unique,
lookups and dependencies point at mappings that exist, and dependencies have no cycle.

Field names are those of the BC API v2.0 (``displayName``, ``salespersonCode``) and Dataverse
logical names (``name``, ``transactioncurrencyid``).
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from sync.models.base import FrozenModel, JsonScalar
from sync.models.filter import Filter
from sync.models.transform import TransformRule

MAPPING_NAME_PATTERN = r"^[A-Z0-9][A-Z0-9 _-]{0,19}$"
MappingName = Annotated[str, Field(pattern=MAPPING_NAME_PATTERN)]


class Direction(StrEnum):
    """Which way data flows, for a table mapping or one field."""

    TO_DATAVERSE = "to_dataverse"
    FROM_DATAVERSE = "from_dataverse"
    BIDIRECTIONAL = "bidirectional"

    def includes(self, flow: Direction) -> bool:
        """True when data may flow ``flow`` (a one-way direction) under this setting."""
        return self is Direction.BIDIRECTIONAL or self is flow

    def opposes(self, other: Direction) -> bool:
        """True for the two one-way directions against each other."""
        return {self, other} == {Direction.TO_DATAVERSE, Direction.FROM_DATAVERSE}


class ConflictPolicy(StrEnum):
    """What happens when one field changed differently on both sides since the last sync."""

    NONE = "none"
    BC_WINS = "bc_wins"
    DATAVERSE_WINS = "dataverse_wins"
    LATEST_WINS = "latest_wins"


class DeletionPolicy(StrEnum):
    """What happens when the coupled record on the other side was deleted."""

    NONE = "none"
    REMOVE_COUPLING = "remove_coupling"
    RESTORE = "restore"
    PROPAGATE = "propagate"


class LookupFailure(StrEnum):
    """What happens when a lookup value has no coupling to translate through (BC's field flags)."""

    FAIL_RECORD = "fail_record"
    LEAVE_UNCHANGED = "leave_unchanged"
    CLEAR_VALUE = "clear_value"


class LookupVia(StrEnum):
    """What a lookup's BC value names, and so how it reaches the coupled record."""

    COUPLING = "coupling"
    """The value is a key (``bc_key``) of a record of the looked-up mapping."""
    COMPANY_CONTACT = "company_contact"
    """The value is the number of a BC company contact; the contact's business relation names
    the customer or vendor of the looked-up mapping (BC's contact ⇄ company account link)."""


class Lookup(FrozenModel):
    """Translate a reference through another mapping's couplings.

    Example: CUSTOMER ``currencyCode`` ⇄ ``transactioncurrencyid`` looks the code up among the
    CURRENCY mapping's records by their ``code`` and swaps it for the coupled Dataverse id.

    ``fallbacks`` are further mappings tried in order when ``mapping`` does not know a value: a
    contact's company is a customer or else a vendor. ``dataverse_target`` marks a polymorphic
    lookup column (one that may point at several tables): the table this lookup's rows are in.
    Dataverse binds it through ``<column>_<table>@odata.bind``, and a row whose column points
    at another table has no translation.
    """

    mapping: str = Field(pattern=MAPPING_NAME_PATTERN)
    fallbacks: tuple[MappingName, ...] = ()
    via: LookupVia = LookupVia.COUPLING
    bc_key: str = Field(default="id", min_length=1)
    dataverse_target: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    blank_is_base_currency: bool = False
    on_failure: LookupFailure = LookupFailure.FAIL_RECORD

    @model_validator(mode="after")
    def _check_shape(self) -> Lookup:
        names = self.mappings
        if len(set(names)) != len(names):
            raise ValueError(f"lookup through {', '.join(names)}: a mapping is named twice")
        if self.via is LookupVia.COMPANY_CONTACT and self.bc_key != "id":
            raise ValueError(
                "a company_contact lookup translates company contact numbers; leave bc_key out"
            )
        if self.via is LookupVia.COMPANY_CONTACT and self.blank_is_base_currency:
            raise ValueError("a company_contact lookup has no base currency; drop that flag")
        return self

    @property
    def mappings(self) -> tuple[str, ...]:
        """Every mapping the lookup goes through, in the order they are tried."""
        return (self.mapping, *self.fallbacks)

    @property
    def table_key(self) -> str:
        """The name of the translation table this lookup reads; equal lookups share one.

        A plain lookup reads its mapping's table (``CURRENCY``); others are named by their
        mappings and kind (``CUSTOMER+VENDOR company_contact``).
        """
        if self.via is LookupVia.COUPLING and not self.fallbacks:
            return self.mapping
        return f"{'+'.join(self.mappings)} {self.via}"


class MatchSettings(FrozenModel):
    """The field takes part in match-based coupling; equal priorities form one criteria group."""

    priority: int = Field(default=0, ge=0)
    case_sensitive: bool = False


class FieldMapping(FrozenModel):
    """One BC field ⇄ one Dataverse column, or a constant written to one side."""

    bc_field: str | None = Field(default=None, min_length=1)
    dataverse_field: str | None = Field(default=None, min_length=1)
    direction: Direction = Direction.BIDIRECTIONAL
    constant: JsonScalar = None
    transforms_to_dataverse: tuple[TransformRule, ...] = ()
    transforms_from_dataverse: tuple[TransformRule, ...] = ()
    lookup: Lookup | None = None
    match: MatchSettings | None = None
    enabled: bool = True

    @model_validator(mode="after")
    def _check_shape(self) -> FieldMapping:
        if self.bc_field is None and self.dataverse_field is None:
            raise ValueError("a field mapping needs 'bc_field', 'dataverse_field' or both")
        one_sided = self.bc_field is None or self.dataverse_field is None
        if one_sided and self.constant is None:
            raise ValueError(
                f"{self.label}: a one-sided field mapping writes a 'constant'; set one"
            )
        if not one_sided and self.constant is not None:
            raise ValueError(
                f"{self.label}: a 'constant' replaces one side; drop that side's field"
            )
        if self.bc_field is None and self.direction is not Direction.TO_DATAVERSE:
            raise ValueError(f"{self.label}: a constant for Dataverse needs direction to_dataverse")
        if self.dataverse_field is None and self.direction is not Direction.FROM_DATAVERSE:
            raise ValueError(f"{self.label}: a constant for BC needs direction from_dataverse")
        if self.match is not None and one_sided:
            raise ValueError(f"{self.label}: constants cannot be used for match-based coupling")
        return self

    @property
    def label(self) -> str:
        """How messages name this field mapping, for example ``displayName ⇄ name``."""
        bc = self.bc_field or f"constant {self.constant!r}"
        dataverse = self.dataverse_field or f"constant {self.constant!r}"
        return f"{bc} ⇄ {dataverse}"


class MatchingSettings(FrozenModel):
    """Table-level options of match-based coupling."""

    create_if_no_match: bool = False
    sync_after_coupling: bool = False


class TableMapping(FrozenModel):
    """One BC entity set ⇄ one Dataverse table (or, for option mappings, one choice column).

    ``dataverse_defaults`` / ``bc_defaults`` are the values a record created by sync gets on
    that side besides its mapped fields (BC's configuration templates: a new account from a
    customer gets ``customertypecode`` 3). Mapped values win over defaults.
    ``company_scoped`` tags Dataverse rows with the BC company (``bcbi_companyid``) and reads
    only rows of this company or of none, so several companies share one environment.
    """

    name: str = Field(pattern=MAPPING_NAME_PATTERN)
    bc_entity: str = Field(min_length=1)
    bc_api: str = Field(default="v2.0", pattern=r"^(v2\.0|[a-z0-9]+/[a-z0-9]+/v\d+\.\d+)$")
    dataverse_table: str = Field(min_length=1)
    dataverse_entity_set: str = Field(min_length=1)
    dataverse_option_column: str | None = None
    direction: Direction
    bc_filter: Filter = Filter()
    dataverse_filter: Filter = Filter()
    fields: tuple[FieldMapping, ...] = Field(min_length=1)
    depends_on: tuple[str, ...] = ()
    conflict_policy: ConflictPolicy = ConflictPolicy.NONE
    deletion_policy: DeletionPolicy = DeletionPolicy.NONE
    sync_only_coupled: bool = True
    matching: MatchingSettings = MatchingSettings()
    company_scoped: bool = False
    dataverse_defaults: dict[str, JsonScalar] = Field(default_factory=dict)
    bc_defaults: dict[str, JsonScalar] = Field(default_factory=dict)
    enabled: bool = True

    @model_validator(mode="after")
    def _check_consistency(self) -> TableMapping:
        if self.is_option and self.direction is Direction.BIDIRECTIONAL:
            raise ValueError(f"mapping {self.name}: an option mapping cannot be bidirectional")
        for field in self.fields:
            if field.direction.opposes(self.direction):
                raise ValueError(
                    f"mapping {self.name}, field {field.label}: direction {field.direction} "
                    f"contradicts the table direction {self.direction}"
                )
        if not any(f.enabled and _flows_with(f, self.direction) for f in self.fields):
            raise ValueError(
                f"mapping {self.name}: no enabled field mapping flows {self.direction}"
            )
        self._check_duplicate_fields()
        if self.bc_filter.has_or_across_fields():
            raise ValueError(
                f"mapping {self.name}: bc_filter uses 'or' across different fields, "
                "which Business Central refuses; split it or filter on one field"
            )
        return self

    def _check_duplicate_fields(self) -> None:
        seen: set[tuple[str, str]] = set()
        for field in self.fields:
            for side, name in (
                ("bc_field", field.bc_field),
                ("dataverse_field", field.dataverse_field),
            ):
                if name is not None and (side, name) in seen:
                    raise ValueError(f"mapping {self.name}: {side} {name!r} is mapped twice")
                if name is not None:
                    seen.add((side, name))

    @property
    def is_option(self) -> bool:
        """True for code table ⇄ choice column mappings (PAYMENT TERMS and the like)."""
        return self.dataverse_option_column is not None

    @property
    def dataverse_id_field(self) -> str:
        """The Dataverse primary key column, by convention ``<table>id``."""
        return f"{self.dataverse_table}id"

    def enabled_fields(self, flow: Direction) -> tuple[FieldMapping, ...]:
        """The enabled field mappings that carry data in one-way direction ``flow``."""
        return tuple(f for f in self.fields if f.enabled and _flows_with(f, flow))

    def referenced_mappings(self) -> Iterator[str]:
        """Mappings this one needs: declared dependencies and lookup targets."""
        yield from self.depends_on
        for field in self.fields:
            if field.lookup is not None:
                yield from field.lookup.mappings


def _flows_with(field: FieldMapping, flow: Direction) -> bool:
    if flow is Direction.BIDIRECTIONAL:
        return True
    return field.direction.includes(flow)


class MappingSet(FrozenModel):
    """The complete, consistent mapping configuration of one scope."""

    format: Literal["bc-dataverse-sync/mappings"] = "bc-dataverse-sync/mappings"
    version: Literal[1] = 1
    mappings: tuple[TableMapping, ...]

    @model_validator(mode="after")
    def _check_references(self) -> MappingSet:
        names = [m.name for m in self.mappings]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"mapping names must be unique; duplicated: {', '.join(duplicates)}")
        for mapping in self.mappings:
            for target in mapping.depends_on:
                if target not in names:
                    raise ValueError(
                        f"mapping {mapping.name}: depends_on names unknown mapping {target}"
                    )
            for field in mapping.fields:
                through = field.lookup.mappings if field.lookup is not None else ()
                unknown = [name for name in through if name not in names]
                if unknown:
                    raise ValueError(
                        f"mapping {mapping.name}, field {field.label}: "
                        f"lookup uses unknown mapping {unknown[0]}"
                    )
        self.in_dependency_order()
        return self

    def get(self, name: str) -> TableMapping:
        """The mapping called ``name``.

        Raises:
            KeyError: No mapping has that name.
        """
        for mapping in self.mappings:
            if mapping.name == name:
                return mapping
        raise KeyError(name)

    def in_dependency_order(self) -> tuple[TableMapping, ...]:
        """Mappings ordered so each comes after those in its ``depends_on``.

        Raises:
            ValueError: The dependencies form a cycle; the message lists it.
        """
        by_name = {m.name: m for m in self.mappings}
        ordered: list[TableMapping] = []
        state: dict[str, str] = {}

        def visit(name: str, path: tuple[str, ...]) -> None:
            if state.get(name) == "done":
                return
            if state.get(name) == "visiting":
                cycle = " -> ".join((*path[path.index(name) :], name))
                raise ValueError(f"mapping dependencies form a cycle: {cycle}")
            state[name] = "visiting"
            for dependency in by_name[name].depends_on:
                visit(dependency, (*path, name))
            state[name] = "done"
            ordered.append(by_name[name])

        for mapping in self.mappings:
            visit(mapping.name, ())
        return tuple(ordered)

"""Checks that mappings name real entities and fields, and reference each other soundly.

The models check each mapping's shape (``sync.models.mapping``); this module checks what needs
the catalogue and the whole set: that entity sets, tables and fields exist, that read-only fields
are never written, that lookups translate through a fitting mapping, and that names and
dependencies are sound. Every problem found is reported, not just the first.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from sync.mappings.catalog import (
    BC_ENTITIES,
    COMPANY_COLUMN,
    DATAVERSE_TABLES,
    OPTION_COLUMNS,
    CatalogField,
    Catalogue,
    FieldType,
    explain_missing,
)
from sync.mappings.lookup_conformance import lookup_problems
from sync.mappings.problem import MappingProblem, problems_error, suggest
from sync.models import Direction, FieldMapping, Filter, MappingSet, TableMapping

_ONE_WAY = (Direction.TO_DATAVERSE, Direction.FROM_DATAVERSE)


def check_mappings(mappings: MappingSet, *, source: str = "the mapping set") -> None:
    """Refuse a mapping set whose entities, fields or references the catalogue does not know.

    Args:
        mappings: A set the models already accepted.
        source: How error messages name what was checked.

    Raises:
        MappingError: Listing every problem found.
    """
    problems = find_problems(mappings.mappings)
    if problems:
        raise problems_error(problems, source=source)


def find_problems(
    mappings: Sequence[TableMapping], *, all_names: Collection[str] | None = None
) -> list[MappingProblem]:
    """Every catalogue and reference problem of ``mappings``.

    Args:
        mappings: The mappings to check.
        all_names: Names of every mapping in the file, including ones that failed to load, so a
            reference to those is not reported again as unknown. Defaults to ``mappings``' names.

    Returns:
        The problems, in file order; empty when all is well.
    """
    names = list(all_names) if all_names is not None else [m.name for m in mappings]
    by_name = {m.name: m for m in mappings}
    problems = _duplicate_names(names)
    for mapping in mappings:
        problems += _table_problems(mapping)
    # A lookup through a mapping that is itself wrong would only repeat its problems.
    broken = {problem.mapping for problem in problems}
    sound = {name: m for name, m in by_name.items() if name not in broken}
    for mapping in mappings:
        problems += _reference_problems(mapping, names, sound)
    problems += _cycles({m.name: m.depends_on for m in mappings})
    return problems


def _duplicate_names(names: Sequence[str]) -> list[MappingProblem]:
    duplicated = sorted({name for name in names if names.count(name) > 1})
    return [
        MappingProblem(
            f"the name is used by {names.count(name)} mappings; names must be unique, "
            "so rename or remove the extra ones",
            mapping=name,
        )
        for name in duplicated
    ]


def _table_problems(mapping: TableMapping) -> list[MappingProblem]:
    bc, bc_problems = _bc_catalogue(mapping)
    dataverse, dataverse_problems = _dataverse_catalogue(mapping)
    problems = bc_problems + dataverse_problems
    if bc is not None:
        problems += _filter_problems(mapping, "bc_filter", mapping.bc_filter, bc)
    if dataverse is not None:
        problems += _filter_problems(
            mapping, "dataverse_filter", mapping.dataverse_filter, dataverse
        )
    for field in mapping.fields:
        problems += _field_problems(mapping, field, bc, dataverse)
    problems += _default_problems(mapping, "bc_defaults", mapping.bc_defaults, bc)
    problems += _default_problems(
        mapping, "dataverse_defaults", mapping.dataverse_defaults, dataverse
    )
    return problems


def _default_problems(
    mapping: TableMapping, key: str, defaults: Mapping[str, object], catalogue: Catalogue | None
) -> list[MappingProblem]:
    if catalogue is None:
        return []
    return [
        MappingProblem(
            f"{key} sets {name!r}, which is not a field of {catalogue.name}"
            f"{suggest(name, catalogue.fields)}",
            mapping=mapping.name,
            field=name,
        )
        for name in defaults
        if catalogue.get(name) is None
    ]


def _bc_catalogue(mapping: TableMapping) -> tuple[Catalogue | None, list[MappingProblem]]:
    entity = BC_ENTITIES.get(mapping.bc_entity)
    if entity is None:
        known = ", ".join(BC_ENTITIES)
        message = (
            f"bc_entity {mapping.bc_entity!r} is not a known Business Central entity set"
            f"{suggest(mapping.bc_entity, BC_ENTITIES)}; use one of: {known}"
        )
        return None, [MappingProblem(message, mapping=mapping.name)]
    if entity.api != mapping.bc_api:
        message = (
            f"entity set {entity.name} is served by API {entity.api}, not {mapping.bc_api}; "
            f"set bc_api to {entity.api!r}"
        )
        return entity, [MappingProblem(message, mapping=mapping.name)]
    return entity, []


def _dataverse_catalogue(mapping: TableMapping) -> tuple[Catalogue | None, list[MappingProblem]]:
    table = DATAVERSE_TABLES.get(mapping.dataverse_table)
    if table is None:
        known = ", ".join(DATAVERSE_TABLES)
        message = (
            f"dataverse_table {mapping.dataverse_table!r} is not a known Dataverse table"
            f"{suggest(mapping.dataverse_table, DATAVERSE_TABLES)}; use one of: {known}"
        )
        return None, [MappingProblem(message, mapping=mapping.name)]
    problems = []
    if mapping.dataverse_entity_set != table.entity_set:
        message = (
            f"table {table.name} is reached through entity set {table.entity_set!r}, not "
            f"{mapping.dataverse_entity_set!r}; set dataverse_entity_set to {table.entity_set!r}"
        )
        problems.append(MappingProblem(message, mapping=mapping.name))
    if mapping.company_scoped and COMPANY_COLUMN not in table.fields:
        message = (
            f"table {table.name} has no {COMPANY_COLUMN} column to tell companies apart; "
            "set company_scoped to false"
        )
        problems.append(MappingProblem(message, mapping=mapping.name))
    column = mapping.dataverse_option_column
    if column is None:
        return table, problems
    option = table.get(column)
    if option is None or option.type is not FieldType.CHOICE:
        choices = ", ".join(f.name for f in table.fields.values() if f.type is FieldType.CHOICE)
        message = (
            f"dataverse_option_column {column!r} is not a choice column of {table.name}"
            f"{suggest(column, table.fields)}; use one of: {choices}"
        )
        problems.append(MappingProblem(message, mapping=mapping.name, field=column))
    return OPTION_COLUMNS, problems


def _filter_problems(
    mapping: TableMapping, key: str, row_filter: Filter, catalogue: Catalogue
) -> list[MappingProblem]:
    problems = []
    for name in sorted(row_filter.fields()):
        if catalogue.filter_field(name) is not None:
            continue
        known = catalogue.get(name)
        if known is not None and known.type is FieldType.LOOKUP:
            fix = f"the Web API filters a lookup by its id, so write '_{name}_value'"
        else:
            fix = f"{_describe(catalogue)} has no such field{suggest(name, catalogue.fields)}"
        message = f"{key} reads {name!r}: {fix}"
        problems.append(MappingProblem(message, mapping=mapping.name, field=name))
    return problems


def _describe(catalogue: Catalogue) -> str:
    if catalogue is OPTION_COLUMNS:
        return "an option of a choice column (columns 'value' and 'label')"
    if catalogue.name in DATAVERSE_TABLES:
        return f"Dataverse table {catalogue.name}"
    return f"Business Central entity set {catalogue.name}"


def _field_problems(
    mapping: TableMapping,
    field: FieldMapping,
    bc: Catalogue | None,
    dataverse: Catalogue | None,
) -> list[MappingProblem]:
    def problem(message: str, culprit: str | None) -> MappingProblem:
        return MappingProblem(message, mapping.name, culprit, field.label)

    problems = []
    bc_field = _known_field(field.bc_field, bc)
    dataverse_field = _known_field(field.dataverse_field, dataverse)
    if field.bc_field is not None and bc is not None and bc_field is None:
        problems.append(problem(_unknown_field(field.bc_field, bc), field.bc_field))
    if field.dataverse_field is not None and dataverse is not None and dataverse_field is None:
        message = _unknown_field(field.dataverse_field, dataverse)
        problems.append(problem(message, field.dataverse_field))
    flows = [f for f in _ONE_WAY if field.direction.includes(f) and mapping.direction.includes(f)]
    written = {Direction.TO_DATAVERSE: dataverse_field, Direction.FROM_DATAVERSE: bc_field}
    for flow in flows:
        target = written[flow]
        if target is not None and target.read_only:
            message = (
                f"{target.name} is read-only, so data cannot flow {flow} into it; "
                f"set the field's direction to {_reverse(flow)} or map another field"
            )
            problems.append(problem(message, target.name))
    if dataverse_field is not None:
        problems += [
            problem(m, dataverse_field.name) for m in _lookup_shape(field, dataverse_field)
        ]
    return problems


def _known_field(name: str | None, catalogue: Catalogue | None) -> CatalogField | None:
    if name is None or catalogue is None:
        return None
    return catalogue.get(name)


def _unknown_field(name: str, catalogue: Catalogue) -> str:
    reason = explain_missing(name) if catalogue.name in DATAVERSE_TABLES else None
    if reason is not None:
        return f"{name} {reason}"
    if name.startswith("_") and name.endswith("_value"):
        column = name[1 : -len("_value")]
        if column in catalogue.fields:
            return (
                f"name the lookup column {column!r} itself; the connector reads {name} and "
                f"binds {column}@odata.bind"
            )
    noun = "column" if catalogue.name in DATAVERSE_TABLES else "field"
    return (
        f"{_describe(catalogue)} has no {noun} {name!r}{suggest(name, catalogue.fields)}; "
        "names are case-sensitive"
    )


def _reverse(flow: Direction) -> Direction:
    if flow is Direction.TO_DATAVERSE:
        return Direction.FROM_DATAVERSE
    return Direction.TO_DATAVERSE


def _lookup_shape(field: FieldMapping, column: CatalogField) -> list[str]:
    if column.type is FieldType.LOOKUP and field.lookup is None and field.bc_field is not None:
        return [
            f"{column.name} is a lookup, so the BC value must be translated to a Dataverse id: "
            "add a 'lookup' through the mapping whose couplings hold the referenced records"
        ]
    if field.lookup is not None and column.type not in (FieldType.LOOKUP, FieldType.CHOICE):
        return [
            f"a lookup yields a Dataverse id or option value, but {column.name} is "
            f"{column.type}; map a lookup or choice column, or remove 'lookup'"
        ]
    return []


def _reference_problems(
    mapping: TableMapping, names: Collection[str], by_name: Mapping[str, TableMapping]
) -> list[MappingProblem]:
    problems = []
    for dependency in mapping.depends_on:
        if dependency not in names:
            message = (
                f"depends_on names {dependency}, which is not a mapping here"
                f"{suggest(dependency, names)}; add that mapping or remove it from depends_on"
            )
            problems.append(MappingProblem(message, mapping=mapping.name))
    for field in mapping.fields:
        if field.lookup is None:
            continue
        culprit = field.bc_field or field.dataverse_field
        messages = lookup_problems(mapping, field, names, by_name)
        problems += [MappingProblem(m, mapping.name, culprit, field.label) for m in messages]
    return problems


def _cycles(graph: Mapping[str, Sequence[str]]) -> list[MappingProblem]:
    problems: list[MappingProblem] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = "visiting"
        path.append(name)
        for dependency in graph.get(name, ()):
            if state.get(dependency) == "visiting":
                cycle = " -> ".join([*path[path.index(dependency) :], dependency])
                message = (
                    f"depends_on forms a cycle ({cycle}); a mapping cannot run before itself, "
                    "so remove one of these dependencies"
                )
                problems.append(MappingProblem(message, mapping=dependency))
            elif dependency in graph and dependency not in state:
                visit(dependency, path)
        path.pop()
        state[name] = "done"

    for name in graph:
        if name not in state:
            visit(name, [])
    return problems

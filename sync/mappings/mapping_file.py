"""Mapping files: a mapping set as JSON that admins can read, edit, diff and import again.

Shape (trimmed)::

    {
      "format": "bc-dataverse-sync/mappings",
      "version": 1,
      "mappings": [
        {
          "name": "CUSTOMER",
          "bc_entity": "customers",
          ...every table setting, defaults included...,
          "fields": [
            {"bc_field": "displayName", "dataverse_field": "name"},
            {"bc_field": "creditLimit", "dataverse_field": "creditlimit",
             "direction": "to_dataverse"}
          ]
        }
      ]
    }

Table mappings are written in full, so every policy is visible. Field mappings leave out keys
that hold their default (``direction`` bidirectional, ``enabled`` true, no lookup, …), as
there are many of them; ``"match": {}`` thus means "used for matching, priority 0". Keys
keep the models' declaration order, so exporting the same set twice gives the same text.

Import refuses a file with a ``MappingError`` that lists every problem found, each with the
mapping and field it concerns, what is wrong and how to fix it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from sync.mappings.conformance import find_problems
from sync.mappings.problem import MappingProblem, problems_error, suggest
from sync.mappings.validation_error import describe_errors, direction_problems
from sync.models import MappingSet, TableMapping

FORMAT = "bc-dataverse-sync/mappings"
VERSION = 1
_ENVELOPE_KEYS = ("format", "version", "mappings")


def export_mappings(mappings: MappingSet) -> str:
    """Write a mapping set as a mapping file.

    Args:
        mappings: The set to export.

    Returns:
        Pretty-printed JSON ending in a newline; ``import_mappings`` reads it back equal.
    """
    document = {
        "format": mappings.format,
        "version": mappings.version,
        "mappings": [_mapping_document(mapping) for mapping in mappings.mappings],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _mapping_document(mapping: TableMapping) -> dict[str, Any]:
    document = mapping.model_dump(mode="json", exclude={"fields"})
    document["fields"] = [
        field.model_dump(mode="json", exclude_defaults=True) for field in mapping.fields
    ]
    return document


def import_mappings(text: str, *, source: str = "mapping file") -> MappingSet:
    """Read a mapping file, refusing it unless every mapping in it is sound.

    Args:
        text: The file's content.
        source: How messages name the file, for example its path.

    Returns:
        The mapping set.

    Raises:
        MappingError: The file is not valid JSON, not a mapping file, or has problems: unknown
            keys, entities, tables or fields, lookups or dependencies naming missing mappings,
            dependency cycles, field directions against their table's, duplicate names. The
            message lists them all; ``mapping`` and ``field`` name the first.
    """
    document = _parse(text, source)
    raw_mappings = _raw_mappings(document, source)
    loaded: list[TableMapping] = []
    problems: list[MappingProblem] = []
    for position, raw in enumerate(raw_mappings):
        mapping, mapping_problems = _load_mapping(raw, position)
        problems += mapping_problems
        if mapping is not None:
            loaded.append(mapping)
    names = [_name_of(raw, position) for position, raw in enumerate(raw_mappings)]
    problems += find_problems(loaded, all_names=names)
    if problems:
        raise problems_error(_in_file_order(problems, names), source=source)
    try:
        return MappingSet(mappings=tuple(loaded))
    except ValidationError as exc:  # a set-level rule the checks above do not know yet
        raise problems_error(describe_errors(exc), source=source) from exc


def _parse(text: str, source: str) -> object:
    duplicates: list[str] = []

    def refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        duplicates.extend(sorted({key for key in keys if keys.count(key) > 1}))
        return dict(pairs)

    try:
        document: object = json.loads(text, object_pairs_hook=refuse_duplicates)
    except json.JSONDecodeError as exc:
        message = (
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}; "
            "fix the syntax there (a missing comma, quote or bracket is the usual cause)"
        )
        raise problems_error([MappingProblem(message)], source=source) from exc
    if duplicates:
        problems = [
            MappingProblem(f"key {key!r} is given twice in one object; keep only one")
            for key in duplicates
        ]
        raise problems_error(problems, source=source)
    return document


def _raw_mappings(document: object, source: str) -> Sequence[object]:
    if not isinstance(document, dict):
        message = f"a mapping file is a JSON object with the keys {', '.join(_ENVELOPE_KEYS)}"
        raise problems_error([MappingProblem(message)], source=source)
    problems = [
        MappingProblem(
            f"unknown top-level key {key!r}{suggest(key, _ENVELOPE_KEYS)}; "
            f"allowed: {', '.join(_ENVELOPE_KEYS)}"
        )
        for key in document
        if key not in _ENVELOPE_KEYS
    ]
    if document.get("format") != FORMAT:
        message = (
            f"'format' must be {FORMAT!r}; this does not look like a mapping file (export "
            "one to see the expected shape)"
        )
        problems.append(MappingProblem(message))
    elif document.get("version") != VERSION:
        message = (
            f"'version' {document.get('version')!r} is not supported; this engine reads "
            f"version {VERSION}"
        )
        problems.append(MappingProblem(message))
    raw_mappings: object = document.get("mappings")
    if isinstance(raw_mappings, list) and raw_mappings and not problems:
        return raw_mappings
    if not isinstance(raw_mappings, list) or not raw_mappings:
        problems.append(MappingProblem("'mappings' must be a non-empty list of table mappings"))
    raise problems_error(problems, source=source)


def _load_mapping(raw: object, position: int) -> tuple[TableMapping | None, list[MappingProblem]]:
    name = _name_of(raw, position)
    if not isinstance(raw, dict):
        return None, [MappingProblem("a table mapping must be a JSON object", mapping=name)]
    field_problems = direction_problems(raw, name)
    try:
        return TableMapping.model_validate(raw), []
    except ValidationError as exc:
        # With a field against its table's direction, the model's own (first-only) complaint
        # about it adds nothing to the per-field problems above.
        skip = bool(field_problems)
        return None, field_problems + describe_errors(exc, raw, name, skip_table_level=skip)


def _in_file_order(problems: list[MappingProblem], names: list[str]) -> list[MappingProblem]:
    def position(problem: MappingProblem) -> int:
        return names.index(problem.mapping) if problem.mapping in names else -1

    return sorted(problems, key=position)


def _name_of(raw: object, position: int) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("name"), str) and raw["name"]:
        return str(raw["name"])
    return f"#{position + 1}"

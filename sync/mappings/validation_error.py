"""Pydantic's complaints about a table mapping, said in the words of a mapping file.

Pydantic locates an error by a path such as ``("fields", 5, "lookup", "mapping")``. Admins think
in mappings and field mappings, so the path becomes "mapping CUSTOMER, field currencyCode ⇄
transactioncurrencyid: 'lookup.mapping' is required; add it". Union member tags that pydantic
puts in paths (``"condition"``, ``"replace"``, ``"str"``) are dropped: they are not keys of the
file. Unknown keys come with the keys allowed at that place and the closest one.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from sync.mappings.problem import MappingProblem, suggest
from sync.models import Direction, FieldMapping, TableMapping

_NAMED_FIELD_KEYS = ("bc_field", "dataverse_field")


def describe_errors(
    error: ValidationError,
    raw_mapping: Mapping[str, object] | None = None,
    mapping: str | None = None,
    *,
    skip_table_level: bool = False,
) -> list[MappingProblem]:
    """One problem per distinct place pydantic complained about.

    Args:
        error: The validation error of one table mapping (or of a whole set).
        raw_mapping: The mapping as read from the file, to name its field mappings.
        mapping: The mapping's name (or ``#position`` when it has none).
        skip_table_level: Leave out complaints of the mapping's own cross-field checks, when
            the caller reports their cause more precisely.

    Returns:
        The problems, in pydantic's order.
    """
    raw = raw_mapping or {}
    root: type[BaseModel] = TableMapping if raw_mapping is not None else BaseModel
    grouped: dict[tuple[object, ...], list[ErrorDetails]] = {}
    for detail in error.errors(include_url=False):
        if skip_table_level and not detail["loc"]:
            continue
        grouped.setdefault(tuple(_place(root, detail["loc"])), []).append(detail)
    return [_problem(details, raw, mapping, root) for details in grouped.values()]


def direction_problems(raw_mapping: Mapping[str, object], mapping: str) -> list[MappingProblem]:
    """Every field mapping whose direction contradicts its table's (the model reports one).

    Args:
        raw_mapping: The mapping as read from the file.
        mapping: Its name.

    Returns:
        One problem per contradicting field mapping.
    """
    table_direction = raw_mapping.get("direction")
    raw_fields = raw_mapping.get("fields")
    if not isinstance(table_direction, str) or not isinstance(raw_fields, list):
        return []
    try:
        table = Direction(table_direction)
    except ValueError:
        return []  # reported with the table mapping's own errors
    problems = []
    for raw_field in raw_fields:
        try:
            field = FieldMapping.model_validate(raw_field)
        except ValidationError:
            continue  # reported with the table mapping's own errors
        if field.direction.opposes(table):
            message = (
                f"direction {field.direction} contradicts the table direction {table}; set the "
                f"field's direction to {table} or bidirectional, or change the table's direction"
            )
            culprit = field.bc_field or field.dataverse_field
            problems.append(MappingProblem(message, mapping, culprit, field.label))
    return problems


def _problem(
    details: Sequence[ErrorDetails],
    raw: Mapping[str, object],
    mapping: str | None,
    root: type[BaseModel],
) -> MappingProblem:
    loc = details[0]["loc"]
    label = culprit = None
    match loc:
        case ("fields", int(index), *rest) if root is TableMapping:
            raw_field = _item(raw.get("fields"), index)
            label = _field_label(raw_field, index)
            culprit = _culprit(raw_field, rest)
            place = _place(FieldMapping, rest)
        case _:
            place = _place(root, loc)
    allowed = _allowed_keys(root, loc)
    message = _message(details, place, allowed, _redundant_prefixes(mapping, label))
    return MappingProblem(message, mapping, culprit, label)


def _message(
    details: Sequence[ErrorDetails],
    place: Sequence[str],
    allowed: Sequence[str],
    prefixes: Sequence[str],
) -> str:
    first = details[0]
    where = _path_text(place)
    if first["type"] == "extra_forbidden":
        key = place[-1] if place else "?"
        hint = f"; allowed here: {', '.join(allowed)}" if allowed else "; remove it"
        inside = f" in {_path_text(place[:-1])}" if len(place) > 1 else ""
        return f"unknown key {key!r}{inside}{suggest(key, allowed)}{hint}"
    if first["type"] == "missing":
        return f"{where} is required; add it"
    texts = []
    for detail in details:
        text = detail["msg"].removeprefix("Value error, ")
        for prefix in prefixes:
            text = text.removeprefix(prefix)
        if detail["type"] != "value_error":
            text = f"{text[:1].lower()}{text[1:]}"
        if text not in texts:
            texts.append(text)
    said = " or ".join(texts)
    if first["type"] != "value_error":
        said = f"{said} (got {first['input']!r})"
    return f"{where}: {said}" if where else said


def _redundant_prefixes(mapping: str | None, label: str | None) -> list[str]:
    # The models' own messages already say where they are; the problem says it once.
    prefixes = []
    if mapping is not None and label is not None:
        prefixes.append(f"mapping {mapping}, field {label}: ")
    if mapping is not None:
        prefixes.append(f"mapping {mapping}: ")
    if label is not None:
        prefixes.append(f"{label}: ")
    return prefixes


def _item(values: object, index: int) -> object:
    if isinstance(values, list) and 0 <= index < len(values):
        return values[index]
    return None


def _field_label(raw_field: object, index: int) -> str:
    if not isinstance(raw_field, Mapping):
        return f"#{index + 1}"
    bc, dataverse = raw_field.get("bc_field"), raw_field.get("dataverse_field")
    if not isinstance(bc, str) and not isinstance(dataverse, str):
        return f"#{index + 1}"
    constant = f"constant {raw_field.get('constant')!r}"
    return f"{bc if isinstance(bc, str) else constant} ⇄ {dataverse or constant}"


def _culprit(raw_field: object, rest: Sequence[str | int]) -> str | None:
    if not isinstance(raw_field, Mapping):
        return None
    if rest and rest[0] in _NAMED_FIELD_KEYS and isinstance(raw_field.get(rest[0]), str):
        return str(raw_field[rest[0]])
    for key in _NAMED_FIELD_KEYS:
        if isinstance(raw_field.get(key), str):
            return str(raw_field[key])
    return None


def _path_text(place: Sequence[str]) -> str:
    text = ""
    for part in place:
        text += part if part.startswith("[") or not text else f".{part}"
    return f"'{text}'" if text else ""


def _place(root: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    return _walk(root, loc)[0]


def _allowed_keys(root: type[BaseModel], loc: Sequence[str | int]) -> tuple[str, ...]:
    models = _walk(root, loc[:-1])[1]
    return tuple(models[0].model_fields) if len(models) == 1 else ()


def _walk(
    root: type[BaseModel], loc: Sequence[str | int]
) -> tuple[list[str], list[type[BaseModel]]]:
    """The file path of ``loc`` without union tags, and the models that may sit at its end."""
    place: list[str] = []
    models: list[type[BaseModel]] = [root]
    for part in loc:
        if isinstance(part, int):
            place.append(f"[{part}]")
            continue
        tagged = [m for m in models if _is_tagged(m, part)]
        owner = next((m for m in models if part in m.model_fields), None)
        if len(models) > 1 and tagged:
            # At a union a tag names the member, even if a member also has a field of that
            # name (ReplaceRule is tagged "replace" and has a "replace" field).
            models = tagged
        elif owner is not None:
            place.append(part)
            models = _models_in(owner.model_fields[part].annotation)
        elif models:
            place.append(part)
            models = []
        # else: a scalar union member's tag ("str", "int"): not a key of the file
    return place, models


def _models_in(annotation: Any) -> list[type[BaseModel]]:  # noqa: ANN401 - any type expression
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    if get_origin(annotation) in (Union, types.UnionType) or get_args(annotation):
        for argument in get_args(annotation):
            found += [m for m in _models_in(argument) if m not in found]
    return found


def _is_tagged(model: type[BaseModel], tag: str) -> bool:
    if model.__name__.lower() == tag.replace("_", "").lower():
        return True
    kind = model.model_fields.get("kind")
    return kind is not None and tag in get_args(kind.annotation)

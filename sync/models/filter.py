"""Structured record filters, rendered as OData ``$filter`` and evaluated in memory.

A mapping's filters are data, not strings: the same ``Filter`` becomes the ``$filter`` sent to
Business Central or Dataverse *and* is evaluated against a record already in memory (a record
fetched by id, a webhook payload, a record whose filter match changed). Both must agree, so both
live here.

Example (the default Dataverse filter of the CUSTOMER mapping)::

    Filter(all_of=(
        Condition(field="statecode", op="eq", value=0),
        Condition(field="customertypecode", op="eq", value=3),
    )).to_odata()
    # "statecode eq 0 and customertypecode eq 3"
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from sync.models.base import FrozenModel, JsonScalar


class Operator(StrEnum):
    """Comparison operators both services support in ``$filter``."""

    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"
    STARTSWITH = "startswith"
    CONTAINS = "contains"
    IN = "in"


LiteralKind = Literal["auto", "guid", "datetime"]
"""How a text value is written in OData: quoted (auto), bare GUID, or bare ISO datetime."""

_GUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")

_EXAMPLES = {"guid": "5d1c9b1e-0000-4000-8000-000000000001", "datetime": "2024-05-01T08:00:00Z"}

_TESTS: dict[Operator, Callable[[Any, Any], bool]] = {
    Operator.STARTSWITH: lambda a, b: str(a).startswith(str(b)),
    Operator.CONTAINS: lambda a, b: str(b) in str(a),
    Operator.GT: lambda a, b: a > b,
    Operator.GE: lambda a, b: a >= b,
    Operator.LT: lambda a, b: a < b,
    Operator.LE: lambda a, b: a <= b,
}


class Condition(FrozenModel):
    """``field op value``; ``in`` takes a tuple of values."""

    field: str = Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    op: Operator
    value: JsonScalar | tuple[JsonScalar, ...]
    literal: LiteralKind = "auto"

    @model_validator(mode="after")
    def _check_value_shape(self) -> Condition:
        if (self.op is Operator.IN) != isinstance(self.value, tuple):
            raise ValueError(
                f"{self.field}: 'in' takes a list of values, other operators one value"
            )
        if self.op in (Operator.STARTSWITH, Operator.CONTAINS) and not isinstance(self.value, str):
            raise ValueError(f"{self.field}: '{self.op}' needs a text value")
        if self.literal != "auto":
            for value in self._values():
                _check_bare_literal(self.field, value, self.literal)
        return self

    def _values(self) -> tuple[JsonScalar, ...]:
        return self.value if isinstance(self.value, tuple) else (self.value,)

    def to_odata(self) -> str:
        """Render as an OData expression, escaping text so a quote never widens the filter."""
        if self.op is Operator.IN:
            items = ",".join(_render_literal(v, self.literal) for v in self._values())
            return f"{self.field} in ({items})"
        literal = _render_literal(self._values()[0], self.literal)
        if self.op in (Operator.STARTSWITH, Operator.CONTAINS):
            return f"{self.op.value}({self.field},{literal})"
        return f"{self.field} {self.op.value} {literal}"

    def matches(self, row: Mapping[str, object]) -> bool:
        """Evaluate against a record's values, with OData's null semantics."""
        actual = _normalize(row.get(self.field), self.literal)
        expected = [_normalize(v, self.literal) for v in self._values()]
        if self.op is Operator.IN:
            return actual in expected
        return _compare(self.op, actual, expected[0])


class AnyOf(FrozenModel):
    """At least one of the conditions holds (OData ``or``)."""

    any_of: tuple[Condition, ...] = Field(min_length=2)

    def to_odata(self) -> str:
        """Render as a parenthesised ``or`` group."""
        return "(" + " or ".join(c.to_odata() for c in self.any_of) + ")"

    def matches(self, row: Mapping[str, object]) -> bool:
        """True when any condition matches."""
        return any(c.matches(row) for c in self.any_of)

    def spans_distinct_fields(self) -> bool:
        """True when the group compares more than one field (Business Central refuses that)."""
        return len({c.field for c in self.any_of}) > 1


def _clause_kind(clause: object) -> str:
    # An explicit choice of member, so a bad clause is reported once, against the member it
    # looks like, instead of against both members of the union.
    if isinstance(clause, Mapping):
        return "any_of" if "any_of" in clause else "condition"
    return "any_of" if isinstance(clause, AnyOf) else "condition"


Clause = Annotated[
    Annotated[Condition, Tag("condition")] | Annotated[AnyOf, Tag("any_of")],
    Discriminator(_clause_kind),
]
"""One clause of a filter: a condition, or a group of alternatives (``{"any_of": [...]}``)."""


class Filter(FrozenModel):
    """All clauses hold (OData ``and``). An empty filter lets every record through."""

    all_of: tuple[Clause, ...] = ()

    def to_odata(self) -> str | None:
        """The ``$filter`` text, or None when there is nothing to filter."""
        if not self.all_of:
            return None
        return " and ".join(clause.to_odata() for clause in self.all_of)

    def matches(self, row: Mapping[str, object]) -> bool:
        """Evaluate in memory exactly as the service would evaluate ``to_odata()``."""
        return all(clause.matches(row) for clause in self.all_of)

    def fields(self) -> frozenset[str]:
        """Every field the filter reads."""
        names: set[str] = set()
        for clause in self.all_of:
            conditions = clause.any_of if isinstance(clause, AnyOf) else (clause,)
            names.update(c.field for c in conditions)
        return frozenset(names)

    def has_or_across_fields(self) -> bool:
        """True when an ``or`` group spans several fields, which Business Central refuses."""
        return any(isinstance(c, AnyOf) and c.spans_distinct_fields() for c in self.all_of)

    def narrowed(self, *clauses: Condition | AnyOf) -> Filter:
        """A copy with more clauses, for example the run's company filter."""
        return Filter(all_of=(*self.all_of, *clauses))


def _compare(op: Operator, actual: object, expected: object) -> bool:
    if op is Operator.EQ:
        return actual == expected
    if op is Operator.NE:
        return actual != expected
    if actual is None or expected is None:
        return False
    try:
        return _TESTS[op](actual, expected)
    except TypeError:  # a text compared with a number never matches, as in OData
        return False


def _check_bare_literal(field: str, value: JsonScalar, kind: LiteralKind) -> None:
    # Bare literals are written unquoted, so they must be exactly what they claim to be.
    if not isinstance(value, str):
        raise ValueError(f"{field}: a {kind} literal must be written as text")
    try:
        if kind == "guid":
            if not _GUID.fullmatch(value):
                raise ValueError("not a GUID")
        else:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                raise ValueError("no timezone")
    except ValueError as exc:
        example = (
            "5d1c9b1e-0000-0000-0000-000000000001" if kind == "guid" else "2024-05-01T08:00:00Z"
        )
        raise ValueError(f"{field}: {value!r} is not a {kind} (for example {example})") from exc


def _render_literal(value: JsonScalar, kind: LiteralKind) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if kind == "guid":
        return value.lower()
    if kind == "datetime":
        instant = datetime.fromisoformat(value).astimezone(UTC)
        return instant.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return "'" + value.replace("'", "''") + "'"


def _normalize(value: object, kind: LiteralKind) -> object:
    if kind == "guid" and isinstance(value, str):
        return value.lower()
    if kind == "datetime" and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value

"""OData `$filter` parsing and in-memory evaluation, shared by both emulators.

An expression is parsed once into a small syntax tree, then compiled into nested closures, so
evaluating it on 100,000 rows costs a few Python calls per row and no re-parsing.

Example:
    >>> expression = parse_filter("lastModifiedDateTime gt 2024-01-01T00:00:00Z and number ne null")
    >>> expression.matches({"lastModifiedDateTime": "2024-03-01T10:00:00.123Z", "number": "C1"})
    True
    >>> sorted(expression.fields())
    ['lastModifiedDateTime', 'number']

Semantics follow OData where rows carry plain JSON values: `null eq null` is true, an ordering
comparison with null is false, an ISO-8601 string in a row compares as a datetime against a
datetime or date literal, GUIDs compare case-insensitively, a field missing from a row is null.
A value of the wrong type for a literal never matches (`ne` then matches), where a real service
would answer 400: the emulators check field names and types against their schemas themselves.
"""

from __future__ import annotations

import operator
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

__all__ = ["FilterExpression", "FilterSyntaxError", "parse_filter"]

Row = Mapping[str, Any]
Getter = Callable[[Row], object]
Predicate = Callable[[Row], bool]

_MAX_NESTING: Final = 64
_COMPARISONS: Final[dict[str, Callable[[Any, Any], object]]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_MIRRORED: Final = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}
_KEYWORD_LITERALS: Final = {
    "true": ("boolean", True),
    "false": ("boolean", False),
    "null": ("null", None),
}
_PREDICATE_FUNCTIONS: Final = {
    "startswith": str.startswith,
    "endswith": str.endswith,
    "contains": str.__contains__,
}
_VALUE_FUNCTIONS: Final = {"tolower": str.lower, "toupper": str.upper}
_LITERAL_TOKENS: Final = ("string", "number", "guid", "datetime", "date")
_HEX: Final = "[0-9A-Fa-f]"
_TOKEN: Final = re.compile(
    rf"""(?P<space>\s+)
      | (?P<string>'(?:[^']|'')*')
      | (?P<guid>{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}(?![\w-]))
      | (?P<datetime>\d{{4}}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?
                     (?:Z|[+-]\d\d:\d\d)?(?![\w:.+-]))
      | (?P<date>\d{{4}}-\d\d-\d\d(?![\w:.-]))
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.]))
      | (?P<punctuation>[(),])
      | (?P<name>[A-Za-z_$@][\w.$@/]*)""",
    re.VERBOSE,
)


class FilterSyntaxError(ValueError):
    """A `$filter` text that cannot be parsed; the message names the 0-based position.

    Attributes:
        position: index in the filter text where the problem was found.
    """

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position}")
        self.position = position


class _Incomparable:
    """Marks a row value whose type cannot be compared with a literal."""


_INCOMPARABLE: Final = _Incomparable()


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    position: int


@dataclass(frozen=True, slots=True)
class _Literal:
    kind: str  # string, number, boolean, null, guid, datetime, date
    value: Any


@dataclass(frozen=True, slots=True)
class _Field:
    path: str


@dataclass(frozen=True, slots=True)
class _Call:
    name: str
    operands: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Comparison:
    operator: str
    operands: tuple[_Node, _Node]


@dataclass(frozen=True, slots=True)
class _InList:
    operands: tuple[_Node]
    items: tuple[_Literal, ...]


@dataclass(frozen=True, slots=True)
class _Logical:
    operator: str  # and, or, not
    operands: tuple[_Node, ...]


_Node = _Literal | _Field | _Call | _Comparison | _InList | _Logical


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            problem = (
                "Unterminated string literal"
                if text[position] == "'"
                else (f"Unexpected character {text[position]!r}")
            )
            raise FilterSyntaxError(problem, position)
        if match.lastgroup != "space":
            tokens.append(_Token(match.lastgroup or "", match.group(), position))
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    """Recursive descent, loosest first: or, and, not, comparison / in, operand."""

    def __init__(self, text: str) -> None:
        self._tokens = _tokenize(text)
        self._index = 0
        self._depth = 0

    def parse(self) -> _Node:
        node = _require_condition(self._parse_or(), 0)
        token = self._tokens[self._index]
        if token.kind != "end":
            raise FilterSyntaxError(
                f"Expected 'and', 'or' or the end, found {token.text!r}", token.position
            )
        return node

    def _take(self) -> _Token:
        self._index += 1
        return self._tokens[self._index - 1]

    def _take_if(self, kind: str, text: str) -> bool:
        token = self._tokens[self._index]
        found = token.kind == kind and token.text == text
        self._index += found
        return found

    def _expect(self, text: str) -> None:
        token = self._tokens[self._index]
        if not self._take_if("punctuation", text):
            raise FilterSyntaxError(
                f"Expected {text!r}, found {token.text or 'the end'!r}", token.position
            )

    def _parse_or(self) -> _Node:
        return self._parse_junction("or", self._parse_and)

    def _parse_and(self) -> _Node:
        return self._parse_junction("and", self._parse_not)

    def _parse_junction(self, word: str, parse_operand: Callable[[], _Node]) -> _Node:
        operands = [(self._tokens[self._index].position, parse_operand())]
        while self._take_if("name", word):
            operands.append((self._tokens[self._index].position, parse_operand()))
        if len(operands) == 1:
            return operands[0][1]
        return _Logical(word, tuple(_require_condition(node, at) for at, node in operands))

    def _parse_not(self) -> _Node:
        if not self._take_if("name", "not"):
            return self._parse_comparison()
        position = self._tokens[self._index].position
        return _Logical("not", (_require_condition(self._parse_not(), position),))

    def _parse_comparison(self) -> _Node:
        left = self._parse_operand()
        token = self._tokens[self._index]
        if token.kind == "name" and token.text in _COMPARISONS:
            self._take()
            return _Comparison(token.text, (left, self._parse_operand()))
        if self._take_if("name", "in"):
            return _InList((left,), self._parse_literal_list())
        return left

    def _parse_literal_list(self) -> tuple[_Literal, ...]:
        self._expect("(")
        items: list[_Literal] = []
        while not items or self._take_if("punctuation", ","):
            token = self._tokens[self._index]
            item = self._parse_operand()
            if not isinstance(item, _Literal):
                raise FilterSyntaxError("Expected a literal in the 'in' list", token.position)
            items.append(item)
        self._expect(")")
        return tuple(items)

    def _parse_operand(self) -> _Node:
        token = self._take()
        if token.kind == "punctuation" and token.text == "(":
            self._depth += 1
            if self._depth > _MAX_NESTING:
                raise FilterSyntaxError("Parentheses nested too deeply", token.position)
            node = self._parse_or()
            self._expect(")")
            self._depth -= 1
            return node
        if token.kind == "name" and token.text in _KEYWORD_LITERALS:
            return _Literal(*_KEYWORD_LITERALS[token.text])
        if token.kind == "name":
            return (
                self._parse_call(token)
                if self._take_if("punctuation", "(")
                else (_Field(token.text))
            )
        if token.kind in _LITERAL_TOKENS:
            return _parse_literal(token)
        raise FilterSyntaxError(
            f"Expected a value, found {token.text or 'the end'!r}", token.position
        )

    def _parse_call(self, name: _Token) -> _Call:
        if name.text not in _PREDICATE_FUNCTIONS and name.text not in _VALUE_FUNCTIONS:
            raise FilterSyntaxError(f"Unknown function {name.text!r}", name.position)
        arguments = [self._parse_or()]
        while self._take_if("punctuation", ","):
            arguments.append(self._parse_or())
        self._expect(")")
        expected = 2 if name.text in _PREDICATE_FUNCTIONS else 1
        if len(arguments) != expected:
            raise FilterSyntaxError(
                f"Function {name.text!r} takes {expected} argument(s), not {len(arguments)}",
                name.position,
            )
        return _Call(name.text, tuple(arguments))


def _require_condition(node: _Node, position: int) -> _Node:
    """Refuse a value where a true/false condition is needed, e.g. `tolower(name)` or `5`."""
    if isinstance(node, _Literal) and node.kind != "boolean":
        raise FilterSyntaxError(f"Literal {node.value!r} is not a condition", position)
    if isinstance(node, _Call) and node.name in _VALUE_FUNCTIONS:
        raise FilterSyntaxError(f"Function {node.name!r} does not return a boolean", position)
    return node


def _parse_literal(token: _Token) -> _Literal:
    text = token.text
    if token.kind == "string":
        return _Literal("string", text[1:-1].replace("''", "'"))
    if token.kind == "number":
        is_integer = not any(mark in text for mark in ".eE")
        return _Literal("number", int(text) if is_integer else float(text))
    if token.kind == "guid":
        return _Literal("guid", text.lower())
    moment = _as_datetime(text)
    if moment is None:
        raise FilterSyntaxError(f"Invalid {token.kind} literal {text!r}", token.position)
    return _Literal(token.kind, moment)


def _as_datetime(value: object) -> datetime | None:
    """Read a row value as an aware datetime (naive values and dates are taken as UTC)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _as_number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return _INCOMPARABLE
    return float(value) if isinstance(value, Decimal) else value


def _coercer(kind: str, fold_case: bool) -> Callable[[object], object]:
    """Return a function bringing a row value to the type of a literal of `kind`."""
    if kind == "string" and fold_case:
        return lambda value: value.casefold() if isinstance(value, str) else _INCOMPARABLE
    if kind == "string":
        return lambda value: value if isinstance(value, str) else _INCOMPARABLE
    if kind == "boolean":
        return lambda value: value if isinstance(value, bool) else _INCOMPARABLE
    if kind == "guid":
        return lambda value: (
            str(value).lower() if isinstance(value, str | uuid.UUID) else _INCOMPARABLE
        )
    if kind == "number":
        return _as_number
    return lambda value: _as_datetime(value) or _INCOMPARABLE


class _Compiler:
    """Turns a syntax tree into closures over rows."""

    def __init__(self, *, fold_case: bool) -> None:
        self._fold_case = fold_case

    def predicate(self, node: _Node) -> Predicate:
        if isinstance(node, _Logical) and node.operator == "or":
            operands = _merged_equalities(node.operands)
            if len(operands) == 1:
                return self.predicate(operands[0])
            return _logical("or", [self.predicate(operand) for operand in operands])
        if isinstance(node, _Logical):
            predicates = [self.predicate(operand) for operand in node.operands]
            return _logical(node.operator, predicates)
        if isinstance(node, _Comparison):
            return self._comparison(node)
        if isinstance(node, _InList):
            return self._in_list(node)
        getter = self.value(node)
        return lambda row: getter(row) is True

    def value(self, node: _Node) -> Getter:
        if isinstance(node, _Literal):
            constant = node.value
            return lambda _row: constant
        if isinstance(node, _Field):
            return _field_getter(node.path)
        if isinstance(node, _Call):
            return self._call(node)
        return self.predicate(node)

    def _literal(self, literal: _Literal) -> object:
        return (
            literal.value.casefold()
            if self._fold_case and literal.kind == "string"
            else (literal.value)
        )

    def _call(self, node: _Call) -> Getter:
        arguments = [self.value(argument) for argument in node.operands]
        if node.name in _VALUE_FUNCTIONS:
            transform, (source,) = _VALUE_FUNCTIONS[node.name], arguments

            def transformed(row: Row) -> str | None:
                text = source(row)
                return transform(text) if isinstance(text, str) else None

            return transformed
        test, (haystack, needle) = _PREDICATE_FUNCTIONS[node.name], arguments
        fold = str.casefold if self._fold_case else str

        def tested(row: Row) -> bool:
            whole, part = haystack(row), needle(row)
            return (
                isinstance(whole, str) and isinstance(part, str) and test(fold(whole), fold(part))
            )

        return tested

    def _comparison(self, node: _Comparison) -> Predicate:
        name, (left, right) = node.operator, node.operands
        if isinstance(left, _Literal) and not isinstance(right, _Literal):
            name, left, right = _MIRRORED[name], right, left
        if not isinstance(right, _Literal):
            return _compare_dynamic(name, self.value(left), self.value(right), self._fold_case)
        getter = self.value(left)
        if right.kind == "null" and name in ("eq", "ne"):
            wants_null = name == "eq"
            return lambda row: (getter(row) is None) is wants_null
        if right.kind == "null":
            return lambda _row: False
        compare, expected = _COMPARISONS[name], self._literal(right)
        coerce, if_incomparable = _coercer(right.kind, self._fold_case), name == "ne"

        def compared(row: Row) -> bool:
            value = getter(row)
            value = _INCOMPARABLE if value is None else coerce(value)
            return if_incomparable if value is _INCOMPARABLE else bool(compare(value, expected))

        return compared

    def _in_list(self, node: _InList) -> Predicate:
        getter = self.value(node.operands[0])
        accepts_null = any(item.kind == "null" for item in node.items)
        by_kind: dict[str, set[object]] = {}
        for item in node.items:
            if item.kind != "null":
                by_kind.setdefault(item.kind, set()).add(self._literal(item))
        checks = [(_coercer(kind, self._fold_case), values) for kind, values in by_kind.items()]
        if len(checks) == 1:
            ((coerce, values),) = checks
            return lambda row: (
                accepts_null if (raw := getter(row)) is None else coerce(raw) in values
            )

        def contained(row: Row) -> bool:
            raw = getter(row)
            if raw is None:
                return accepts_null
            return any(coerce(raw) in values for coerce, values in checks)

        return contained


def _field_equals_literal(node: _Node) -> tuple[_Field, _Literal] | None:
    """Return the parts of `field eq literal` (either way round), or None for any other node."""
    if not isinstance(node, _Comparison) or node.operator != "eq":
        return None
    named, literal = node.operands
    if isinstance(named, _Literal):
        named, literal = literal, named
    if isinstance(named, _Field) and isinstance(literal, _Literal):
        return named, literal
    return None


def _merged_equalities(operands: tuple[_Node, ...]) -> tuple[_Node, ...]:
    """Fold the `a eq 1 or a eq 2 or …` operands of an `or` into `a in (1, 2, …)`.

    Both answer alike on every row (a null or mistyped value matches neither), but the list is
    one set lookup per row where the chain is one comparison per literal: a by-id read of 100
    ids would otherwise cost 100 comparisons on every row it tests.
    """
    literals: dict[str, list[_Literal]] = {}
    others: list[_Node] = []
    for operand in operands:
        parts = _field_equals_literal(operand)
        if parts is None:
            others.append(operand)
        else:
            literals.setdefault(parts[0].path, []).append(parts[1])
    merged = [_InList((_Field(path),), tuple(items)) for path, items in literals.items()]
    return (*merged, *others)


def _logical(name: str, predicates: list[Predicate]) -> Predicate:
    if name == "not":
        (inner,) = predicates
        return lambda row: not inner(row)
    if len(predicates) == 2:  # the common case, without a generator per row
        first, second = predicates
        if name == "and":
            return lambda row: first(row) and second(row)
        return lambda row: first(row) or second(row)
    if name == "and":
        return lambda row: all(predicate(row) for predicate in predicates)
    return lambda row: any(predicate(row) for predicate in predicates)


def _field_getter(path: str) -> Getter:
    if "/" not in path:
        return lambda row: row.get(path)
    steps = path.split("/")

    def walk(row: Row) -> object:
        current: object = row
        for step in steps:
            if not isinstance(current, Mapping):
                return None
            current = current.get(step)
        return current

    return lambda row: row[path] if path in row else walk(row)


def _compare_dynamic(name: str, left: Getter, right: Getter, fold_case: bool) -> Predicate:
    """Compare two row-dependent values (field to field, function results)."""
    compare = _COMPARISONS[name]

    def compared(row: Row) -> bool:
        first, second = left(row), right(row)
        if first is None or second is None:
            both_null = first is None and second is None
            return both_null if name == "eq" else (not both_null if name == "ne" else False)
        if fold_case and isinstance(first, str) and isinstance(second, str):
            first, second = first.casefold(), second.casefold()
        try:
            return bool(compare(first, second))
        except TypeError:
            return name == "ne"

    return compared


def _referenced_fields(node: _Node) -> frozenset[str]:
    if isinstance(node, _Field):
        return frozenset((node.path,))
    if isinstance(node, _Literal):
        return frozenset()
    return frozenset().union(*(_referenced_fields(child) for child in node.operands))


def _has_or_on_distinct_fields(node: _Node) -> bool:
    if not isinstance(node, _Logical):
        return False
    if node.operator == "or" and len(_referenced_fields(node)) > 1:
        return True
    return any(_has_or_on_distinct_fields(operand) for operand in node.operands)


def _pinned_guids(node: _Node, field: str) -> frozenset[str] | None:
    if isinstance(node, _Logical) and node.operator == "or":
        found: set[str] = set()
        for operand in node.operands:
            values = _pinned_guids(operand, field)
            if values is None:
                return None
            found |= values
        return frozenset(found)
    parts = _field_equals_literal(node)
    if parts is None or parts[0].path != field or parts[1].kind != "guid":
        return None
    return frozenset((parts[1].value,))


class FilterExpression:
    """A parsed, compiled `$filter`; build it with `parse_filter`.

    Attributes:
        text: the filter text it was parsed from.
    """

    __slots__ = ("_fields", "_matches", "_or_on_distinct_fields", "_tree", "text")

    def __init__(self, text: str, tree: _Node, *, case_insensitive: bool) -> None:
        self.text = text
        self._tree = tree
        self._matches = _Compiler(fold_case=case_insensitive).predicate(tree)
        self._fields = _referenced_fields(tree)
        self._or_on_distinct_fields = _has_or_on_distinct_fields(tree)

    def matches(self, row: Row) -> bool:
        """Return True when `row` (column name -> JSON-like value) satisfies the filter."""
        return self._matches(row)

    def fields(self) -> frozenset[str]:
        """Return the field names (or `a/b` paths) the filter refers to."""
        return self._fields

    def or_groups_on_distinct_fields(self) -> bool:
        """Return True when an `or` combines conditions on different fields (BC refuses that)."""
        return self._or_on_distinct_fields

    def pinned_values(self, field: str) -> frozenset[str] | None:
        """Return the GUIDs a row's `field` must equal, when that is all the filter says.

        `id eq 5d1c…` or `(id eq 5d1c… or id eq 8a0f…) or 2b7e… eq id` pins `id` to those three
        GUIDs (as lower-case text), so a store can look the rows up instead of testing each
        one. Anything else (an `and`, `not`, `ne`, a function, another field, a literal that is
        not a GUID) gives None. `field` is compared exactly, as the evaluator reads row keys.
        Every matching row holds one of the values, but not every such row need match (its
        value may have another type), so callers still apply `matches` to the rows they find.
        """
        return _pinned_guids(self._tree, field)

    def __repr__(self) -> str:
        return f"FilterExpression({self.text!r})"


def parse_filter(text: str, *, case_insensitive: bool = False) -> FilterExpression:
    """Parse and compile an OData `$filter` expression.

    Args:
        text: the decoded `$filter` value, e.g. `startswith(name,'Con') and revenue ge 1000.5`.
        case_insensitive: compare strings ignoring case, as Dataverse does.

    Returns:
        The compiled expression, reusable on any number of rows.

    Raises:
        FilterSyntaxError: the text is not a filter this parser understands.
    """
    if not text.strip():
        raise FilterSyntaxError("Empty filter expression", 0)
    return FilterExpression(text, _Parser(text).parse(), case_insensitive=case_insensitive)

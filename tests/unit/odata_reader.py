"""A tiny, independent reader of the OData ``$filter`` subset the models render.

Written from the OData rules (quotes doubled inside text, ``and`` binds tighter than ``or``, any
comparison with null is false except ``eq``/``ne``), so tests can check that the text sent to a
service means what ``Filter.matches`` decides in memory.
"""

from __future__ import annotations

import re
from datetime import datetime

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')"
    r"|(?P<datetime>\d{4}-\d\d-\d\dT[\d:.]+Z)"
    r"|(?P<guid>[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})"
    r"|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<punct>[(),])"
    r"|(?P<word>[A-Za-z_]\w*))"
)


def _tokens(text):
    position, tokens = 0, []
    while position < len(text):
        match = _TOKEN.match(text, position)
        assert match, f"cannot read {text[position:]!r}"
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    return tokens


class ODataReader:
    """A tiny reader of the $filter subset we render, written from the OData rules."""

    def __init__(self, text):
        self.tokens = _tokens(text)
        self.at = 0

    def next(self):
        token = self.tokens[self.at]
        self.at += 1
        return token

    def peek(self):
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def expression(self):
        terms = [self.conjunction()]
        while self.peek() == "or":
            self.next()
            terms.append(self.conjunction())
        return lambda row: any(term(row) for term in terms)

    def conjunction(self):
        terms = [self.primary()]
        while self.peek() == "and":
            self.next()
            terms.append(self.primary())
        return lambda row: all(term(row) for term in terms)

    def primary(self):
        kind, word = self.next()
        if word == "(":
            inner = self.expression()
            assert self.next()[1] == ")"
            return inner
        if word in ("startswith", "contains"):
            assert self.next()[1] == "("
            field = self.next()[1]
            assert self.next()[1] == ","
            needle = self.literal()
            assert self.next()[1] == ")"
            test = str.startswith if word == "startswith" else str.__contains__
            return lambda row: isinstance(row.get(field), str) and test(row[field], needle)
        assert kind == "word"
        op = self.next()[1]
        if op == "in":
            assert self.next()[1] == "("
            values = [self.literal()]
            while self.next()[1] == ",":
                values.append(self.literal())
            return lambda row: any(_compare("eq", row.get(word), v) for v in values)
        expected = self.literal()
        return lambda row: _compare(op, row.get(word), expected)

    def literal(self):
        kind, text = self.next()
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "guid":
            return ("guid", text)
        if kind == "datetime":
            return datetime.fromisoformat(text)
        return {"true": True, "false": False, "null": None}[text]


def _compare(op, actual, expected):
    if isinstance(expected, tuple):  # a guid: compared without regard to case
        expected = expected[1]
        actual = actual.lower() if isinstance(actual, str) else actual
    if isinstance(expected, datetime) and isinstance(actual, str):
        actual = datetime.fromisoformat(actual)
    if op == "eq":
        return actual == expected
    if op == "ne":
        return actual != expected
    if actual is None or expected is None:
        return False
    try:
        return {"gt": actual > expected, "ge": actual >= expected}.get(
            op, actual < expected if op == "lt" else actual <= expected
        )
    except TypeError:
        return False

"""Apply a field mapping's transformation rules to one value (pure)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import singledispatch

from sync.models import JsonScalar, TransformRule
from sync.models.transform import (
    CaseRule,
    RegexRule,
    RemoveNonAlphanumericRule,
    ReplaceRule,
    RoundRule,
    SubstringRule,
    TrimRule,
    ValueMapRule,
)


def apply_transforms(value: JsonScalar, rules: Sequence[TransformRule]) -> JsonScalar:
    """Run ``value`` through ``rules`` in order.

    Text rules leave non-text values alone (and ``round`` leaves non-numbers alone), so a rule
    chain never fails a record; a blank stays blank.
    """
    for rule in rules:
        value = _apply(rule, value)
    return value


@singledispatch
def _apply(rule: object, value: JsonScalar) -> JsonScalar:  # noqa: ARG001 - dispatch signature
    raise TypeError(f"no transformation for {type(rule).__name__}")  # pragma: no cover


@_apply.register
def _case(rule: CaseRule, value: JsonScalar) -> JsonScalar:
    if not isinstance(value, str):
        return value
    if rule.kind == "uppercase":
        return value.upper()
    if rule.kind == "lowercase":
        return value.lower()
    return " ".join(word[:1].upper() + word[1:].lower() for word in value.split(" "))


@_apply.register
def _trim(_rule: TrimRule, value: JsonScalar) -> JsonScalar:
    return value.strip() if isinstance(value, str) else value


@_apply.register
def _alphanumeric(_rule: RemoveNonAlphanumericRule, value: JsonScalar) -> JsonScalar:
    return "".join(ch for ch in value if ch.isalnum()) if isinstance(value, str) else value


@_apply.register
def _substring(rule: SubstringRule, value: JsonScalar) -> JsonScalar:
    if not isinstance(value, str):
        return value
    start = 0
    if rule.start is not None:
        start = rule.start - 1
    elif rule.starting_text is not None:
        found = value.find(rule.starting_text)
        if found < 0:
            return ""
        start = found + len(rule.starting_text)
    rest = value[start:]
    if rule.length is not None:
        return rest[: rule.length]
    if rule.ending_text is not None:
        end = rest.find(rule.ending_text)
        return rest if end < 0 else rest[:end]
    return rest


@_apply.register
def _replace(rule: ReplaceRule, value: JsonScalar) -> JsonScalar:
    return value.replace(rule.find, rule.replace) if isinstance(value, str) else value


@_apply.register
def _regex(rule: RegexRule, value: JsonScalar) -> JsonScalar:
    if not isinstance(value, str):
        return value
    if rule.kind == "regex_replace":
        return re.sub(rule.pattern, rule.replacement, value)
    match = re.search(rule.pattern, value)
    return match.group(0) if match else ""


@_apply.register
def _round(rule: RoundRule, value: JsonScalar) -> JsonScalar:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    steps = value / rule.precision
    if rule.mode == "nearest":
        # Half away from zero, as BC rounds; Python's round() would round half to even.
        rounded = math.copysign(math.floor(abs(steps) + 0.5), steps)
    else:
        rounded = math.ceil(steps) if rule.mode == "up" else math.floor(steps)
    # Re-derive the decimals from the precision so 0.1 steps do not print as 0.30000000000000004.
    decimals = max(0, -math.floor(math.log10(rule.precision)))
    return round(rounded * rule.precision, decimals)


@_apply.register
def _value_map(rule: ValueMapRule, value: JsonScalar) -> JsonScalar:
    if isinstance(value, str) and value in rule.values:
        return rule.values[value]
    return value

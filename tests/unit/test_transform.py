from __future__ import annotations

import pytest
from pydantic import TypeAdapter

from sync.engine.transform import apply_transforms
from sync.models import TransformRule

RULES = TypeAdapter(tuple[TransformRule, ...])


@pytest.mark.parametrize(
    ("rules", "value", "expected"),
    [
        ([{"kind": "uppercase"}], "Adatum", "ADATUM"),
        ([{"kind": "lowercase"}], "Adatum", "adatum"),
        ([{"kind": "title_case"}], "hello wORLD", "Hello World"),
        ([{"kind": "trim"}], "  x  ", "x"),
        ([{"kind": "remove_non_alphanumeric"}], "A-1 b_2!", "A1b2"),
        ([{"kind": "substring", "start": 4, "length": 3}], "ABCDEFGH", "DEF"),
        ([{"kind": "substring", "starting_text": "(", "ending_text": ")"}], "Name (DK) x", "DK"),
        ([{"kind": "substring", "starting_text": "["}], "no bracket", ""),
        ([{"kind": "replace", "find": "U.S.", "replace": "US"}], "U.S.", "US"),
        (
            [{"kind": "regex_replace", "pattern": "NOTPROVIDED", "replacement": ""}],
            "aNOTPROVIDED",
            "a",
        ),
        ([{"kind": "regex_match", "pattern": r"\d+"}], "ab 123 c", "123"),
        ([{"kind": "round", "precision": 0.01}], 2.345, 2.35),
        ([{"kind": "round", "precision": 1}], -2.5, -3),
        ([{"kind": "round", "precision": 10, "mode": "up"}], 11, 20),
        ([{"kind": "round", "precision": 0.1, "mode": "down"}], 0.39, 0.3),
        ([{"kind": "value_map", "values": {"Denmark": "DK"}}], "Denmark", "DK"),
        ([{"kind": "value_map", "values": {"Denmark": "DK"}}], "Sweden", "Sweden"),
        ([{"kind": "trim"}, {"kind": "uppercase"}], "  dk ", "DK"),
        ([{"kind": "uppercase"}], None, None),
        ([{"kind": "round", "precision": 1}], "12.5", "12.5"),
        ([{"kind": "trim"}], 42, 42),
    ],
    ids=[
        "uppercase",
        "lowercase",
        "title case",
        "trim",
        "alphanumeric only",
        "substring by position",
        "substring between texts",
        "substring start text missing",
        "replace",
        "regex replace",
        "regex match",
        "round to cents half up",
        "round half away from zero",
        "round up",
        "round down",
        "value map hit",
        "value map miss passes through",
        "chain in order",
        "blank stays blank",
        "round leaves text alone",
        "text rule leaves number alone",
    ],
)
def test_rule_gives_expected_value_when_applied(rules, value, expected):
    assert apply_transforms(value, RULES.validate_python(rules)) == expected

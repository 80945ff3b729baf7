from __future__ import annotations

from contextlib import nullcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sync.models import (
    AnyOf,
    Condition,
    Direction,
    FieldMapping,
    Filter,
    Lookup,
    MappingSet,
    Operator,
    TableMapping,
)
from tests.unit.odata_reader import ODataReader

TO_DV = Direction.TO_DATAVERSE
FROM_DV = Direction.FROM_DATAVERSE
BOTH = Direction.BIDIRECTIONAL
GUID = "5D1C9B1E-0000-4000-8000-0000000000AB"


def cond(field, op, value, literal="auto"):
    return Condition(field=field, op=Operator(op), value=value, literal=literal)


def mapping(name="CUSTOMER", *, direction=BOTH, fields=None, depends_on=(), **extra):
    return TableMapping(
        name=name,
        bc_entity="customers",
        dataverse_table="account",
        dataverse_entity_set="accounts",
        direction=direction,
        fields=fields or (FieldMapping(bc_field="displayName", dataverse_field="name"),),
        depends_on=depends_on,
        **extra,
    )


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        (cond("customertypecode", "eq", 3), "customertypecode eq 3"),
        (cond("name", "eq", "O'Brien"), "name eq 'O''Brien'"),
        (cond("name", "eq", "x' or 'a' eq 'a"), "name eq 'x'' or ''a'' eq ''a'"),
        (cond("blocked", "eq", " "), "blocked eq ' '"),
        (cond("companyNumber", "ne", ""), "companyNumber ne ''"),
        (cond("_parentcustomerid_value", "ne", None), "_parentcustomerid_value ne null"),
        (cond("isdisabled", "eq", False), "isdisabled eq false"),
        (cond("creditlimit", "ge", 2.5), "creditlimit ge 2.5"),
        (cond("name", "startswith", "O'B"), "startswith(name,'O''B')"),
        (cond("name", "contains", "Ltd"), "contains(name,'Ltd')"),
        (cond("code", "in", ("EUR", "US'D")), "code in ('EUR','US''D')"),
        (cond("_ownerid_value", "eq", GUID, "guid"), f"_ownerid_value eq {GUID.lower()}"),
        (
            cond("modifiedon", "gt", "2024-05-01T10:00:00+02:00", "datetime"),
            "modifiedon gt 2024-05-01T08:00:00.000Z",
        ),
        (
            AnyOf(any_of=(cond("blocked", "eq", " "), cond("blocked", "eq", "Ship"))),
            "(blocked eq ' ' or blocked eq 'Ship')",
        ),
    ],
    ids=[
        "number",
        "quote doubled",
        "injection stays one literal",
        "blank",
        "empty text",
        "null",
        "boolean",
        "decimal",
        "startswith",
        "contains",
        "in list",
        "bare guid lowercased",
        "bare datetime in UTC",
        "any_of in parentheses",
    ],
)
def test_clause_renders_valid_odata_when_filter_is_rendered(clause, expected):
    assert Filter(all_of=(clause,)).to_odata() == expected


def test_filter_renders_nothing_when_it_has_no_clause():
    assert Filter().to_odata() is None
    assert Filter().matches({"anything": 1})


def test_clauses_join_with_and_when_filter_has_several():
    row_filter = Filter(all_of=(cond("statecode", "eq", 0), cond("customertypecode", "eq", 3)))

    assert row_filter.to_odata() == "statecode eq 0 and customertypecode eq 3"


def test_filter_parses_clause_kind_when_read_from_json():
    any_of = [{"field": "a", "op": "eq", "value": 2}, {"field": "a", "op": "eq", "value": 3}]
    document = {"all_of": [{"field": "a", "op": "eq", "value": 1}, {"any_of": any_of}]}

    row_filter = Filter.model_validate(document)

    assert [type(clause) for clause in row_filter.all_of] == [Condition, AnyOf]
    assert Filter.model_validate(row_filter.model_dump()) == row_filter


def test_bad_clause_is_reported_once_when_it_has_an_unknown_key():
    with pytest.raises(ValidationError) as caught:
        Filter.model_validate({"all_of": [{"field": "a", "op": "eq", "value": 1, "colour": 2}]})

    assert [e["loc"] for e in caught.value.errors()] == [("all_of", 0, "condition", "colour")]


@pytest.mark.parametrize(
    ("value", "literal", "expectation"),
    [
        (GUID, "guid", nullcontext()),
        ("not-a-guid", "guid", pytest.raises(ValidationError, match="is not a guid")),
        (
            f"{GUID} or name eq 'x'",
            "guid",
            pytest.raises(ValidationError, match="is not a guid"),
        ),
        (42, "guid", pytest.raises(ValidationError, match="must be written as text")),
        ("2024-05-01T08:00:00Z", "datetime", nullcontext()),
        (
            "2024-05-01T08:00:00",
            "datetime",
            pytest.raises(ValidationError, match="is not a datetime"),
        ),
        ("yesterday", "datetime", pytest.raises(ValidationError, match="is not a datetime")),
    ],
    ids=[
        "guid accepted",
        "junk refused as guid",
        "injection refused as guid",
        "number refused as guid",
        "aware datetime accepted",
        "naive datetime refused",
        "junk refused as datetime",
    ],
)
def test_bare_literal_is_checked_when_condition_is_built(value, literal, expectation):
    with expectation:
        cond("x", "eq", value, literal)


@pytest.mark.parametrize(
    ("op", "value", "message"),
    [
        ("in", "EUR", "'in' takes a list"),
        ("eq", ("EUR",), "'in' takes a list"),
        ("startswith", 3, "needs a text value"),
    ],
    ids=["in with one value", "eq with a list", "startswith with a number"],
)
def test_condition_is_refused_when_value_shape_does_not_fit_operator(op, value, message):
    with pytest.raises(ValidationError, match=message):
        cond("code", op, value)


FILTERS = {
    "customer account": Filter(
        all_of=(cond("statecode", "eq", 0), cond("customertypecode", "eq", 3))
    ),
    "quoted name": Filter(all_of=(cond("name", "eq", "O'Brien"),)),
    "injection attempt": Filter(all_of=(cond("name", "eq", "x' or 'a' eq 'a"),)),
    "contact with parent": Filter(
        all_of=(cond("statecode", "eq", 0), cond("_parentcustomerid_value", "ne", None))
    ),
    "prefix and any_of": Filter(
        all_of=(
            cond("name", "startswith", "O'"),
            AnyOf(any_of=(cond("statecode", "eq", 0), cond("statecode", "gt", 1))),
        )
    ),
    "in list": Filter(all_of=(cond("name", "in", ("Contoso", "O'Brien", "")),)),
    "guid": Filter(all_of=(cond("_parentcustomerid_value", "eq", GUID, "guid"),)),
    "datetime window": Filter(
        all_of=(
            cond("modifiedon", "ge", "2024-05-01T10:00:00+02:00", "datetime"),
            cond("modifiedon", "lt", "2024-05-02T00:00:00Z", "datetime"),
        )
    ),
    "blank and not empty": Filter(
        all_of=(cond("blocked", "eq", " "), cond("companyNumber", "ne", ""))
    ),
}

_TEXTS = st.sampled_from(["O'Brien", "o'brien", "O'", "Contoso", "", " ", "x' or 'a' eq 'a"])
_ROWS = st.fixed_dictionaries(
    {},
    optional={
        "statecode": st.sampled_from([0, 1, 2, None]),
        "customertypecode": st.sampled_from([3, 11, None, "3"]),
        "name": _TEXTS | st.none(),
        "blocked": _TEXTS,
        "companyNumber": _TEXTS,
        "_parentcustomerid_value": st.sampled_from([GUID, GUID.lower(), None, "x"]),
        "modifiedon": st.sampled_from(
            [
                "2024-05-01T07:59:59Z",
                "2024-05-01T08:00:00Z",
                "2024-05-01T10:00:00+02:00",
                "2024-05-01T23:59:59.999Z",
                "2024-05-02T00:00:00Z",
            ]
        ),
    },
)


@pytest.mark.parametrize("name", list(FILTERS))
@settings(database=None, max_examples=150, deadline=None)
@given(row=_ROWS)
def test_in_memory_match_agrees_with_rendered_filter_when_rows_vary(name, row):
    row_filter = FILTERS[name]
    rendered = row_filter.to_odata()
    reader = ODataReader(rendered)
    assert reader.expression()(row) == row_filter.matches(row)
    assert reader.peek() is None, "the whole text was read"


@pytest.mark.parametrize(
    ("setting", "flow", "included"),
    [(BOTH, TO_DV, True), (BOTH, FROM_DV, True), (TO_DV, TO_DV, True), (TO_DV, FROM_DV, False)],
    ids=["both carries to", "both carries from", "to carries to", "to blocks from"],
)
def test_direction_includes_flow_when_setting_allows_it(setting, flow, included):
    assert setting.includes(flow) is included


def test_one_way_directions_oppose_each_other_when_compared():
    assert TO_DV.opposes(FROM_DV)
    assert not TO_DV.opposes(BOTH)
    assert not BOTH.opposes(FROM_DV)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"dataverse_field": "owneridtype", "constant": "x"}, "needs direction to_dataverse"),
        ({"bc_field": "type", "constant": "Person"}, "needs direction from_dataverse"),
        ({"bc_field": "type"}, "writes a 'constant'"),
        ({"bc_field": "a", "dataverse_field": "b", "constant": 1}, "drop that side's field"),
        ({}, "needs 'bc_field', 'dataverse_field' or both"),
        (
            {
                "bc_field": "type",
                "constant": "Person",
                "direction": "from_dataverse",
                "match": {},
            },
            "constants cannot be used for match-based coupling",
        ),
    ],
    ids=[
        "constant for dataverse without direction",
        "constant for bc without direction",
        "one side without constant",
        "constant with both sides",
        "no side",
        "constant used for matching",
    ],
)
def test_field_mapping_is_refused_when_shape_is_wrong(fields, message):
    with pytest.raises(ValidationError, match=message):
        FieldMapping.model_validate(fields)


def test_table_mapping_is_refused_when_field_direction_contradicts_table():
    field = FieldMapping(bc_field="displayName", dataverse_field="name", direction=FROM_DV)

    with pytest.raises(ValidationError, match="contradicts the table direction to_dataverse"):
        mapping(direction=TO_DV, fields=(field,))


def test_table_mapping_is_refused_when_no_enabled_field_flows_its_way():
    field = FieldMapping(bc_field="displayName", dataverse_field="name", enabled=False)

    with pytest.raises(ValidationError, match="no enabled field mapping flows"):
        mapping(fields=(field,))


def test_option_mapping_is_refused_when_bidirectional():
    with pytest.raises(ValidationError, match="option mapping cannot be bidirectional"):
        mapping(dataverse_option_column="paymenttermscode")


def test_table_mapping_is_refused_when_a_field_is_mapped_twice():
    fields = (
        FieldMapping(bc_field="displayName", dataverse_field="name"),
        FieldMapping(bc_field="number", dataverse_field="name"),
    )

    with pytest.raises(ValidationError, match="dataverse_field 'name' is mapped twice"):
        mapping(fields=fields)


def test_bc_filter_is_refused_when_or_spans_fields_but_dataverse_filter_is_not():
    mixed = Filter(all_of=(AnyOf(any_of=(cond("a", "eq", 1), cond("b", "eq", 2))),))

    with pytest.raises(ValidationError, match="'or' across different fields"):
        mapping(bc_filter=mixed)
    assert mapping(dataverse_filter=mixed).dataverse_filter == mixed


def test_enabled_fields_follow_flow_when_directions_mix():
    to_only = FieldMapping(bc_field="creditLimit", dataverse_field="creditlimit", direction=TO_DV)
    both = FieldMapping(bc_field="displayName", dataverse_field="name")
    table = mapping(fields=(to_only, both))

    assert table.enabled_fields(TO_DV) == (to_only, both)
    assert table.enabled_fields(FROM_DV) == (both,)


def _lookup_field(target):
    return FieldMapping(
        bc_field="currencyCode",
        dataverse_field="transactioncurrencyid",
        lookup=Lookup(mapping=target, bc_key="code"),
    )


def test_dependencies_run_first_when_declared_after_their_dependants():
    mappings = MappingSet(
        mappings=(
            mapping("CONTACT", depends_on=("CUSTOMER", "VENDOR")),
            mapping("CUSTOMER", depends_on=("CURRENCY",)),
            mapping("VENDOR", depends_on=("CURRENCY",)),
            mapping("CURRENCY"),
        )
    )

    order = [m.name for m in mappings.in_dependency_order()]

    assert order == ["CURRENCY", "CUSTOMER", "VENDOR", "CONTACT"]


def test_mapping_set_is_refused_when_dependencies_form_a_cycle():
    with pytest.raises(ValidationError, match="cycle: A -> B -> C -> A"):
        MappingSet(
            mappings=(
                mapping("A", depends_on=("B",)),
                mapping("B", depends_on=("C",)),
                mapping("C", depends_on=("A",)),
            )
        )


@pytest.mark.parametrize(
    ("mappings", "message"),
    [
        ((mapping("A", depends_on=("NOPE",)),), "depends_on names unknown mapping NOPE"),
        ((mapping("A", fields=(_lookup_field("NOPE"),)),), "lookup uses unknown mapping NOPE"),
        ((mapping("A"), mapping("A")), "duplicated: A"),
    ],
    ids=["unknown dependency", "unknown lookup target", "duplicate name"],
)
def test_mapping_set_is_refused_when_references_are_broken(mappings, message):
    with pytest.raises(ValidationError, match=message):
        MappingSet(mappings=mappings)


def test_referenced_mappings_include_lookup_targets_when_not_declared():
    table = mapping("A", fields=(_lookup_field("CURRENCY"),), depends_on=("SALESPEOPLE",))

    assert list(table.referenced_mappings()) == ["SALESPEOPLE", "CURRENCY"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"mapping": "A", "fallbacks": ("A",)}, "a mapping is named twice"),
        ({"mapping": "A", "fallbacks": ("lower",)}, "String should match pattern"),
        ({"mapping": "A", "via": "company_contact", "bc_key": "code"}, "leave bc_key out"),
        (
            {"mapping": "A", "via": "company_contact", "blank_is_base_currency": True},
            "no base currency",
        ),
        ({"mapping": "A", "dataverse_target": "Account"}, "String should match pattern"),
    ],
    ids=[
        "fallback repeats the mapping",
        "fallback is no mapping name",
        "company contact with a key",
        "company contact with base currency",
        "target is no logical name",
    ],
)
def test_lookup_is_refused_when_shape_is_wrong(arguments, message):
    with pytest.raises(ValidationError, match=message):
        Lookup(**arguments)


@pytest.mark.parametrize(
    ("lookup", "key"),
    [
        (Lookup(mapping="CURRENCY", bc_key="code"), "CURRENCY"),
        (Lookup(mapping="CUSTOMER", fallbacks=("VENDOR",)), "CUSTOMER+VENDOR coupling"),
        (
            Lookup(mapping="CUSTOMER", fallbacks=("VENDOR",), via="company_contact"),
            "CUSTOMER+VENDOR company_contact",
        ),
    ],
    ids=["plain", "with fallback", "company contact"],
)
def test_lookups_read_their_own_table_when_they_differ(lookup, key):
    assert lookup.table_key == key


def test_mapping_set_is_refused_when_a_fallback_is_unknown():
    field = FieldMapping(
        bc_field="currencyCode",
        dataverse_field="transactioncurrencyid",
        lookup=Lookup(mapping="A", fallbacks=("NOPE",)),
    )

    with pytest.raises(ValidationError, match="lookup uses unknown mapping NOPE"):
        MappingSet(mappings=(mapping("A", fields=(field,)),))


def test_referenced_mappings_include_lookup_fallbacks_when_not_declared():
    field = FieldMapping(
        bc_field="companyNumber",
        dataverse_field="parentcustomerid",
        lookup=Lookup(mapping="CUSTOMER", fallbacks=("VENDOR",), via="company_contact"),
    )

    assert list(mapping("A", fields=(field,)).referenced_mappings()) == ["CUSTOMER", "VENDOR"]

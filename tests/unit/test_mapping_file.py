from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import pytest

from sync.errors import MappingError
from sync.mappings import export_mappings, import_mappings, standard_mappings

SAMPLE = Path(__file__).parents[1] / "data" / "mappings" / "standard-person.json"
STANDARD_TEXT = export_mappings(standard_mappings())


def standard_document():
    return json.loads(STANDARD_TEXT)


def mapping_of(document, name):
    (mapping,) = [m for m in document["mappings"] if m["name"] == name]
    return mapping


def field_of(document, name, bc_field):
    (field,) = [f for f in mapping_of(document, name)["fields"] if f.get("bc_field") == bc_field]
    return field


def set_key(name, key, value):
    def edit(document):
        mapping_of(document, name)[key] = value

    return edit


def drop_key(name, key):
    def edit(document):
        del mapping_of(document, name)[key]

    return edit


def set_field_key(name, bc_field, key, value):
    def edit(document):
        field_of(document, name, bc_field)[key] = value

    return edit


def add_field(name, field):
    def edit(document):
        mapping_of(document, name)["fields"].append(field)

    return edit


def set_top(key, value):
    def edit(document):
        document[key] = value

    return edit


def import_edited(*edits, source="customers.json"):
    document = standard_document()
    for edit in edits:
        edit(document)
    return import_mappings(json.dumps(document, indent=2), source=source)


@pytest.mark.parametrize("ownership", ["person", "team"])
def test_import_gives_equal_set_when_export_is_read_back(ownership):
    mappings = standard_mappings(ownership=ownership)

    assert import_mappings(export_mappings(mappings)) == mappings


@pytest.mark.parametrize("ownership", ["person", "team"])
def test_export_is_identical_when_imported_set_is_exported_again(ownership):
    text = export_mappings(standard_mappings(ownership=ownership))

    assert export_mappings(import_mappings(text)) == text


def test_round_trip_keeps_every_setting_when_defaults_are_overridden():
    edits = (
        set_key("CUSTOMER", "conflict_policy", "latest_wins"),
        set_key("CUSTOMER", "deletion_policy", "remove_coupling"),
        set_key("CUSTOMER", "sync_only_coupled", False),
        set_key(
            "CUSTOMER",
            "bc_filter",
            {
                "all_of": [
                    {
                        "any_of": [
                            {"field": "blocked", "op": "in", "value": [" ", "Ship"]},
                            {"field": "blocked", "op": "eq", "value": "Invoice"},
                        ]
                    }
                ]
            },
        ),
        set_field_key("CUSTOMER", "displayName", "match", {"priority": 1, "case_sensitive": True}),
        set_field_key(
            "CUSTOMER",
            "country",
            "transforms_to_dataverse",
            [{"kind": "value_map", "values": {"US": "United States"}}, {"kind": "trim"}],
        ),
        set_field_key("CUSTOMER", "city", "enabled", False),
    )
    mappings = import_edited(*edits)
    text = export_mappings(mappings)

    assert import_mappings(text) == mappings
    assert export_mappings(import_mappings(text)) == text
    assert mappings.get("CUSTOMER").conflict_policy == "latest_wins"


def test_export_writes_envelope_first_and_stable_keys_when_set_is_exported():
    document = json.loads(STANDARD_TEXT)

    assert list(document)[:2] == ["format", "version"]
    assert (document["format"], document["version"]) == ("bc-dataverse-sync/mappings", 1)
    assert list(document["mappings"][0])[:2] == ["name", "bc_entity"]
    assert STANDARD_TEXT.endswith("}\n")
    assert export_mappings(standard_mappings()) == STANDARD_TEXT


def test_export_leaves_out_field_defaults_when_field_is_plain():
    fields = mapping_of(json.loads(STANDARD_TEXT), "CUSTOMER")["fields"]

    assert {"bc_field": "displayName", "dataverse_field": "name"} in fields


def test_sample_file_imports_as_standard_set_when_read_from_disk():
    assert import_mappings(SAMPLE.read_text(encoding="utf-8"), source=SAMPLE.name) == (
        standard_mappings()
    )


class Refusal(NamedTuple):
    edit: object
    mapping: str | None
    field: str | None
    fragments: tuple[str, ...]


REFUSALS = {
    "unknown key on a table mapping": Refusal(
        set_key("CUSTOMER", "colour", "red"),
        "CUSTOMER",
        None,
        ("mapping CUSTOMER: unknown key 'colour'", "allowed here: name, bc_entity"),
    ),
    "unknown key on a field mapping": Refusal(
        set_field_key("CUSTOMER", "displayName", "bc_fild", "x"),
        "CUSTOMER",
        "displayName",
        (
            "mapping CUSTOMER, field displayName ⇄ name: unknown key 'bc_fild'",
            "did you mean 'bc_field'?",
        ),
    ),
    "unknown key inside a lookup": Refusal(
        set_field_key(
            "CUSTOMER",
            "currencyCode",
            "lookup",
            {"mapping": "CURRENCY", "bc_key": "code", "blank_is_base": True},
        ),
        "CUSTOMER",
        "currencyCode",
        (
            "field currencyCode ⇄ transactioncurrencyid: unknown key 'blank_is_base' in 'lookup'",
            "did you mean 'blank_is_base_currency'?",
        ),
    ),
    "required key missing": Refusal(
        drop_key("VENDOR", "direction"),
        "VENDOR",
        None,
        ("mapping VENDOR: 'direction' is required",),
    ),
    "value not allowed": Refusal(
        set_key("VENDOR", "direction", "both"),
        "VENDOR",
        None,
        ("mapping VENDOR: 'direction': input should be 'to_dataverse'", "(got 'both')"),
    ),
    "unknown key inside a transform": Refusal(
        set_field_key(
            "CUSTOMER", "country", "transforms_to_dataverse", [{"kind": "replace", "fnd": "U.S."}]
        ),
        "CUSTOMER",
        "country",
        (
            "field country ⇄ address1_country: 'transforms_to_dataverse[0].find' is required",
            "unknown key 'fnd' in 'transforms_to_dataverse[0]' (did you mean 'find'?)",
        ),
    ),
    "value of the wrong type": Refusal(
        add_field(
            "CONTACT", {"bc_field": "jobTitle", "constant": [1], "direction": "from_dataverse"}
        ),
        "CONTACT",
        "jobTitle",
        ("'constant': input should be a valid string or input should be a valid integer",),
    ),
    "unknown filter operator": Refusal(
        set_key(
            "CUSTOMER", "bc_filter", {"all_of": [{"field": "blocked", "op": "=", "value": " "}]}
        ),
        "CUSTOMER",
        None,
        ("mapping CUSTOMER: 'bc_filter.all_of[0].op': input should be 'eq'", "(got '=')"),
    ),
    "unknown bc field": Refusal(
        set_field_key("CUSTOMER", "displayName", "bc_field", "displayname"),
        "CUSTOMER",
        "displayname",
        ("entity set customers has no field 'displayname'", "did you mean 'displayName'?"),
    ),
    "unknown dataverse column": Refusal(
        set_field_key("CUSTOMER", "displayName", "dataverse_field", "nmae"),
        "CUSTOMER",
        "nmae",
        (
            "field displayName ⇄ nmae: Dataverse table account has no column 'nmae'",
            "did you mean 'name'?",
        ),
    ),
    "owner type constant": Refusal(
        add_field(
            "CUSTOMER",
            {
                "dataverse_field": "owneridtype",
                "constant": "systemuser",
                "direction": "to_dataverse",
            },
        ),
        "CUSTOMER",
        "owneridtype",
        ("owneridtype is read-only and not offered by the Web API", "map 'ownerid' only"),
    ),
    "read-only column written": Refusal(
        set_field_key("CONTACT", "displayName", "direction", "bidirectional"),
        "CONTACT",
        "fullname",
        (
            "field displayName ⇄ fullname: fullname is read-only",
            "set the field's direction to from_dataverse",
        ),
    ),
    "unknown entity set": Refusal(
        set_key("CUSTOMER", "bc_entity", "custmers"),
        "CUSTOMER",
        None,
        ("mapping CUSTOMER: bc_entity 'custmers' is not a known", "did you mean 'customers'?"),
    ),
    "unknown table": Refusal(
        set_key("CONTACT", "dataverse_table", "contacts"),
        "CONTACT",
        None,
        ("dataverse_table 'contacts' is not a known Dataverse table", "did you mean 'contact'?"),
    ),
    "entity set of another table": Refusal(
        set_key("CUSTOMER", "dataverse_entity_set", "account"),
        "CUSTOMER",
        None,
        ("reached through entity set 'accounts', not 'account'",),
    ),
    "custom entity on the standard api": Refusal(
        set_key("SHIPPING AGENT", "bc_api", "v2.0"),
        "SHIPPING AGENT",
        None,
        ("served by API bcsync/integration/v1.0", "set bc_api to 'bcsync/integration/v1.0'"),
    ),
    "company scope without company column": Refusal(
        set_key("CURRENCY", "company_scoped", True),
        "CURRENCY",
        None,
        ("transactioncurrency has no bcbi_companyid column", "set company_scoped to false"),
    ),
    "option mapping of a column that is no choice": Refusal(
        set_key("PAYMENT TERMS", "dataverse_option_column", "name"),
        "PAYMENT TERMS",
        "name",
        ("'name' is not a choice column of account", "use one of: statecode"),
    ),
    "unknown filter field": Refusal(
        set_key(
            "CUSTOMER", "bc_filter", {"all_of": [{"field": "blockd", "op": "eq", "value": " "}]}
        ),
        "CUSTOMER",
        "blockd",
        ("bc_filter reads 'blockd'", "did you mean 'blocked'?"),
    ),
    "lookup filtered by column name": Refusal(
        set_key(
            "CONTACT",
            "dataverse_filter",
            {"all_of": [{"field": "parentcustomerid", "op": "ne", "value": None}]},
        ),
        "CONTACT",
        "parentcustomerid",
        ("dataverse_filter reads 'parentcustomerid'", "write '_parentcustomerid_value'"),
    ),
    "lookup to a missing mapping": Refusal(
        set_field_key("CUSTOMER", "currencyCode", "lookup", {"mapping": "CURRENCIES"}),
        "CUSTOMER",
        "currencyCode",
        (
            "field currencyCode ⇄ transactioncurrencyid: the lookup goes through mapping "
            "CURRENCIES, which is not a mapping here",
            "did you mean 'CURRENCY'?",
        ),
    ),
    "lookup through a mapping of another table": Refusal(
        set_field_key(
            "CUSTOMER", "currencyCode", "lookup", {"mapping": "SALESPEOPLE", "bc_key": "code"}
        ),
        "CUSTOMER",
        "currencyCode",
        ("points at transactioncurrency, but SALESPEOPLE syncs systemuser",),
    ),
    "lookup key of another type": Refusal(
        set_field_key(
            "CUSTOMER", "paymentTermsId", "lookup", {"mapping": "PAYMENT TERMS", "bc_key": "code"}
        ),
        "CUSTOMER",
        "paymentTermsId",
        ("paymentTermsId holds a guid but PAYMENT TERMS's code is a code", "set bc_key to 'id'"),
    ),
    "company lookup through a mapping of currencies": Refusal(
        set_field_key(
            "CONTACT",
            "companyNumber",
            "lookup",
            {"mapping": "CUSTOMER", "fallbacks": ["CURRENCY"], "via": "company_contact"},
        ),
        "CONTACT",
        "companyNumber",
        ("a company contact is related to a customer or vendor, but CURRENCY syncs currencies",),
    ),
    "company lookup on customers": Refusal(
        set_field_key(
            "CUSTOMER", "currencyCode", "lookup", {"mapping": "CURRENCY", "via": "company_contact"}
        ),
        "CUSTOMER",
        "currencyCode",
        ("use it on a mapping of contacts, not of customers",),
    ),
    "polymorphic target the column cannot point at": Refusal(
        set_field_key(
            "CONTACT",
            "companyNumber",
            "lookup",
            {
                "mapping": "CUSTOMER",
                "fallbacks": ["VENDOR"],
                "via": "company_contact",
                "dataverse_target": "systemuser",
            },
        ),
        "CONTACT",
        "companyNumber",
        ("dataverse_target 'systemuser' is not a table parentcustomerid may point at",),
    ),
    "polymorphic target on a lookup of one table": Refusal(
        set_field_key(
            "CUSTOMER",
            "currencyCode",
            "lookup",
            {"mapping": "CURRENCY", "bc_key": "code", "dataverse_target": "transactioncurrency"},
        ),
        "CUSTOMER",
        "currencyCode",
        ("points only at transactioncurrency, so leave dataverse_target out",),
    ),
    "dependency on a missing mapping": Refusal(
        set_key("CONTACT", "depends_on", ["CUSTOMR", "VENDOR"]),
        "CONTACT",
        None,
        ("mapping CONTACT: depends_on names CUSTOMR", "did you mean 'CUSTOMER'?"),
    ),
    "dependency cycle": Refusal(
        set_key("CURRENCY", "depends_on", ["CONTACT"]),
        "CURRENCY",
        None,
        ("cycle (CURRENCY -> CONTACT -> CUSTOMER -> CURRENCY)", "remove one of these"),
    ),
    "field against table direction": Refusal(
        set_field_key("CURRENCY", "symbol", "direction", "from_dataverse"),
        "CURRENCY",
        "symbol",
        (
            "mapping CURRENCY, field symbol ⇄ currencysymbol: direction from_dataverse "
            "contradicts the table direction to_dataverse",
        ),
    ),
    "duplicate mapping names": Refusal(
        set_key("VENDOR", "name", "CUSTOMER"),
        "CUSTOMER",
        None,
        ("mapping CUSTOMER: the name is used by 2 mappings", "names must be unique"),
    ),
    "not our format": Refusal(
        set_top("format", "something-else"), None, None, ("'format' must be",)
    ),
    "newer version": Refusal(set_top("version", 2), None, None, ("'version' 2 is not supported",)),
    "unknown top-level key": Refusal(
        set_top("mapping", []),
        None,
        None,
        ("unknown top-level key 'mapping'", "did you mean 'mappings'?"),
    ),
}


@pytest.mark.parametrize("refusal", REFUSALS.values(), ids=REFUSALS.keys())
def test_import_is_refused_with_location_when_file_has_a_problem(refusal):
    with pytest.raises(MappingError) as caught:
        import_edited(refusal.edit)

    message = str(caught.value)
    assert message.startswith("customers.json has ")
    for fragment in refusal.fragments:
        assert fragment in message
    assert (caught.value.mapping, caught.value.field) == (refusal.mapping, refusal.field)


def test_every_problem_is_listed_when_file_has_several():
    with pytest.raises(MappingError) as caught:
        import_edited(
            set_field_key("CUSTOMER", "displayName", "dataverse_field", "nmae"),
            set_key("VENDOR", "colour", "red"),
            set_field_key("CURRENCY", "symbol", "direction", "from_dataverse"),
            set_field_key("CURRENCY", "displayName", "direction", "from_dataverse"),
        )

    lines = str(caught.value).splitlines()
    assert lines[0] == "customers.json has 4 problems; fix them and try again:"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "  - mapping CURRENCY, field symbol ⇄ currencysymbol",
        "  - mapping CURRENCY, field displayName ⇄ currencyname",
        "  - mapping CUSTOMER, field displayName ⇄ nmae",
        "  - mapping VENDOR",
    ]
    assert caught.value.mapping == "CURRENCY"


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (
            '{\n  "format": "bc-dataverse-sync/mappings",\n  "version": 1\n  "mappings": []\n}',
            ("not valid JSON: Expecting ',' delimiter at line 4, column 3",),
        ),
        ("", ("not valid JSON", "line 1, column 1")),
        (
            '{"format": "bc-dataverse-sync/mappings", "format": "x"}',
            ("key 'format' is given twice in one object",),
        ),
        ("[]", ("a mapping file is a JSON object",)),
        (
            '{"format": "bc-dataverse-sync/mappings", "version": 1, "mappings": []}',
            ("'mappings' must be a non-empty list",),
        ),
    ],
    ids=["missing comma", "empty file", "duplicate key", "not an object", "no mappings"],
)
def test_import_is_refused_when_text_is_not_a_mapping_file(text, fragments):
    with pytest.raises(MappingError) as caught:
        import_mappings(text, source="broken.json")

    assert str(caught.value).startswith("broken.json has 1 problem; fix it")
    for fragment in fragments:
        assert fragment in str(caught.value)
    assert (caught.value.mapping, caught.value.field) == (None, None)


def test_mapping_without_name_is_named_by_position_when_refused():
    document = standard_document()
    del document["mappings"][1]["name"]

    with pytest.raises(MappingError, match=r"mapping #2: 'name' is required") as caught:
        import_mappings(json.dumps(document))

    assert str(caught.value).startswith("mapping file has")


def test_lookups_stay_quiet_when_their_target_mapping_is_already_refused():
    with pytest.raises(MappingError) as caught:
        import_edited(set_key("PAYMENT TERMS", "dataverse_option_column", "name"))

    assert str(caught.value).startswith("customers.json has 1 problem")

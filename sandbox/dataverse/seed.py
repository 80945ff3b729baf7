"""Deterministic seed data: the same seed always gives the same ids and values.

An environment holds currencies (USD base, EUR, GBP, DKK, CAD, JPY, an inactive CHF), a root
business unit team and a BC owner team, users of every kind (the application user the emulator
treats as the caller, a disabled, an unlicensed, an integration and a second application user),
one BC company row, `records` accounts and `records` contacts. Accounts mix customers (type 3),
vendors (type 11) and other types, inactive rows, unicode, apostrophes, 160-character names and
missing optional values; contacts have an account parent (and then its BC company), a contact
parent, or none.
"""

from __future__ import annotations

import random
import uuid
from typing import Any, Final

from sandbox.dataverse.payload import Changes
from sandbox.dataverse.record_writer import RecordWriter
from sandbox.dataverse.store import Organization
from sandbox.dataverse.tables import TABLES

__all__ = ["EnvironmentSeeder"]

_CURRENCIES: Final = [  # iso, name, symbol, rate to base, precision, active
    ("USD", "US Dollar", "$", 1.0, 2, True),
    ("EUR", "Euro", "€", 0.92, 2, True),
    ("GBP", "Pound Sterling", "£", 0.79, 2, True),
    ("DKK", "Danish Krone", "kr.", 6.87, 2, True),
    ("CAD", "Canadian Dollar", "CA$", 1.36, 2, True),
    ("JPY", "Yen", "¥", 149.5, 0, True),
    ("CHF", "Swiss Franc", "CHF", 0.88, 2, False),
]
_COMPANY_WORDS: Final = [
    "Adatum",
    "Contoso",
    "Fabrikam",
    "Litware",
    "Northwind",
    "Proseware",
    "Tailspin",
    "Wingtip",
    "Woodgrove",
    "Alpine Ski",
    "Blue Yonder",
    "Coho",
    "Fourth Coffee",
    "Lamna",
    "Relecloud",
    "Trey Research",
    "VanArsdel",
]
_COMPANY_SUFFIXES: Final = [
    "Ltd.",
    "Inc.",
    "GmbH",
    "A/S",
    "AB",
    "S.A.",
    "LLC",
    "Corp.",
    "Trading",
    "Importers",
    "Holdings",
]
_SPECIAL_NAMES: Final = [
    "O'Brien's Pub",
    "L'Oréal Partenaire",
    "Müller & Söhne GmbH",
    "Øresund Kaffe ApS",
    "株式会社サンプル",
    "Café ☕ Ltd",
    "Ελληνική Εταιρεία",
    'D\'Angelo "Quoted" & Co',
]
_PLACES: Final = [
    ("København", "Denmark", "1050", None),
    ("München", "Germany", "80331", "BY"),
    ("Zürich", "Switzerland", "8001", "ZH"),
    ("Seattle", "USA", "98101", "WA"),
    ("London", "United Kingdom", "EC1A 1BB", None),
    ("Kraków", "Poland", "30-001", None),
    ("São Paulo", "Brazil", "01000-000", "SP"),
    ("Tokyo", "Japan", "100-0001", None),
    ("Toronto", "Canada", "M5H 2N2", "ON"),
]
_FIRST_NAMES: Final = [
    "Anna",
    "Ben",
    "Chloé",
    "Dmitri",
    "Eva",
    "François",
    "Grace",
    "Hiro",
    "Ingrid",
    "José",
    "Kai",
    "Léa",
    "Mohammed",
    "Nora",
    "Oskar",
    "Priya",
    "Rasmus",
    "Søren",
    "Tomás",
    "Zoë",
]
_LAST_NAMES: Final = [
    "Andersen",
    "Berg",
    "Çelik",
    "Dupont",
    "O'Connor",
    "García",
    "Hansen",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Müller",
    "Nakamura",
    "Okafor",
    "Petersen",
    "Quist",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Weiß",
]
_OTHER_TYPES: Final = [1, 2, 5, 8, 9, 10, 12]


class EnvironmentSeeder:
    """Fills a store with deterministic rows.

    Args:
        writer: writes the rows, so they carry versions, timestamps and change-log entries.
        seed: the random seed; the same seed gives the same ids and values.
    """

    def __init__(self, writer: RecordWriter, seed: int) -> None:
        self._writer = writer
        self._random = random.Random(seed)
        self._serial = 0
        self._people: list[str] = []
        self._owner_team = ""
        self._company = ""

    def new_id(self) -> str:
        """Return the next deterministic GUID."""
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def _create(
        self,
        logical_name: str,
        values: dict[str, Any],
        lookups: dict[str, tuple[str, str] | None] | None = None,
    ) -> str:
        row_id = self.new_id()
        changes = Changes(
            values={k: v for k, v in values.items() if v is not None}, lookups=dict(lookups or {})
        )
        self._writer.create(TABLES[logical_name], changes, row_id)
        return row_id

    def seed_environment(self, records: int) -> None:
        """Create the reference rows, then `records` accounts and `records` contacts."""
        organization = Organization(organization_id=self.new_id(), business_unit_id=self.new_id())
        self._writer.store.organization = organization
        for iso, name, symbol, rate, precision, active in _CURRENCIES:
            currency = self._create(
                "transactioncurrency",
                {
                    "isocurrencycode": iso,
                    "currencyname": name,
                    "currencysymbol": symbol,
                    "exchangerate": rate,
                    "currencyprecision": precision,
                    "statecode": 0 if active else 1,
                },
            )
            if iso == "USD":
                organization.base_currency_id = currency
        organization.caller_id = self._seed_people()
        self._seed_company()
        self.seed_rows("account", records)
        self.seed_rows("contact", records)
        self._link_primary_contacts()

    def _seed_people(self) -> str:
        users = [  # first, last, disabled, licensed, integration, access mode, application
            ("#", "Business Central Sync", False, False, False, 4, True),
            ("Alex", "Wilber", False, True, False, 0, False),
            ("Megan", "Bowen", False, True, False, 0, False),
            ("Former", "Employee", True, True, False, 0, False),
            ("Unlicensed", "Reader", False, False, False, 0, False),
            ("Integration", "User", False, False, True, 4, False),
            ("#", "Power Automate Flow", False, False, False, 4, True),
        ]
        ids = []
        for first, last, disabled, licensed, integration, mode, application in users:
            ids.append(
                self._create(
                    "systemuser",
                    {
                        "firstname": first,
                        "lastname": last,
                        "isdisabled": disabled,
                        "islicensed": licensed,
                        "isintegrationuser": integration,
                        "accessmode": mode,
                        "applicationid": self.new_id() if application else None,
                        "azureactivedirectoryobjectid": self.new_id(),
                        "internalemailaddress": f"{last.replace(' ', '.').lower()}@contoso.example",
                        "domainname": f"{last.replace(' ', '').lower()}@contoso.example",
                    },
                )
            )
        self._people = ids[1:3]
        return ids[0]

    def _seed_company(self) -> None:
        company_id = self.new_id()
        self._create("team", {"name": "contoso", "teamtype": 0, "isdefault": True})
        self._owner_team = self._create(
            "team", {"name": f"BCI - CRONUS International Ltd. ({company_id})", "teamtype": 0}
        )
        self._company = self._create(
            "cdm_company",
            {
                "cdm_name": f"CRONUS International Ltd. ({company_id})",
                "cdm_companycode": "CRONUS",
                "cdm_isenabledfordualwrite": False,
            },
            {"cdm_defaultowningteam": ("team", self._owner_team)},
        )

    def seed_rows(self, logical_name: str, count: int) -> list[str]:
        """Create `count` more rows of a table (accounts, contacts or others) and return ids."""
        make = {"account": self._account, "contact": self._contact}.get(logical_name)
        created = []
        for _ in range(count):
            self._serial += 1
            if make is not None:
                created.append(make(self._serial))
            else:
                created.append(self._create(logical_name, {}))
        return created

    def _link_primary_contacts(self) -> None:
        store = self._writer.store
        linked: set[str] = set()
        for contact_id, contact in list(store.table_rows("contact").rows.items()):
            parent = contact.values.get("_parentcustomerid_value")
            is_account = contact.lookup_targets.get("parentcustomerid") == "account"
            if not is_account or not isinstance(parent, str) or parent in linked:
                continue
            linked.add(parent)
            if len(linked) % 2:  # every other account with contacts gets a primary contact
                self._writer.update(
                    TABLES["account"],
                    parent,
                    Changes(lookups={"primarycontactid": ("contact", contact_id)}),
                )

    def _owner(self) -> tuple[str, str]:
        if self._random.random() < 0.6:
            return ("team", self._owner_team)
        return ("systemuser", self._random.choice(self._people))

    def _account_name(self, serial: int) -> str:
        if serial % 17 == 0:
            return _SPECIAL_NAMES[(serial // 17) % len(_SPECIAL_NAMES)]
        if serial % 29 == 0:
            return ("Long Name " * 20)[:150] + f" {serial:09d}"  # exactly 160 characters
        words = self._random.choice(_COMPANY_WORDS), self._random.choice(_COMPANY_SUFFIXES)
        return f"{words[0]} {words[1]} {serial}"

    def _account(self, serial: int) -> str:
        draw = self._random.random()
        kind = 3 if draw < 0.45 else 11 if draw < 0.75 else self._random.choice(_OTHER_TYPES)
        city, country, postal, state = self._random.choice(_PLACES)
        sparse = serial % 7 == 0  # some rows leave optional columns empty
        prefix = {3: "C", 11: "V"}.get(kind, "A")
        values = {
            "name": self._account_name(serial),
            "accountnumber": None if sparse else f"{prefix}{serial:05d}",
            "customertypecode": kind,
            "statecode": 1 if serial % 10 == 0 else 0,
            "address1_line1": None if sparse else f"{self._random.randint(1, 999)} Main Street",
            "address1_city": city,
            "address1_country": country,
            "address1_postalcode": postal,
            "address1_stateorprovince": state,
            "telephone1": None if sparse else f"+45 {self._random.randint(10000000, 99999999)}",
            "emailaddress1": None if sparse else f"info{serial}@example.com",
            "websiteurl": None if sparse else f"https://www.example{serial}.com",
            "creditlimit": None if sparse else float(self._random.randrange(0, 500_000, 1000)),
            "paymenttermscode": self._random.choice([1, 2, 3, 4, None]),
            "address1_shippingmethodcode": self._random.choice([1, 2, 3, 4, 5, 6, 7, None]),
            "address1_freighttermscode": self._random.choice([1, 2, None]),
        }
        lookups: dict[str, tuple[str, str] | None] = {"ownerid": self._owner()}
        if serial % 3:
            lookups["bcbi_companyid"] = ("cdm_company", self._company)
        currency = self._random.choice(
            list(self._writer.store.table_rows("transactioncurrency").rows)[:6]
        )
        lookups["transactioncurrencyid"] = ("transactioncurrency", currency)
        return self._create("account", values, lookups)

    def _contact(self, serial: int) -> str:
        accounts = self._writer.store.table_rows("account").ordered_ids
        contacts = self._writer.store.table_rows("contact").ordered_ids
        draw = self._random.random()
        lookups: dict[str, tuple[str, str] | None] = {"ownerid": self._owner()}
        if draw < 0.8 and accounts:
            parent = self._random.choice(accounts)
            lookups["parentcustomerid"] = ("account", parent)
            # The people of a BC company's account belong to that company too.
            company = (
                self._writer.store.table_rows("account")
                .rows[parent]
                .values.get("_bcbi_companyid_value")
            )
            if company:
                lookups["bcbi_companyid"] = ("cdm_company", company)
        elif draw < 0.9 and contacts:
            lookups["parentcustomerid"] = ("contact", self._random.choice(contacts))
        first, last = self._random.choice(_FIRST_NAMES), self._random.choice(_LAST_NAMES)
        values = {
            "firstname": None if serial % 13 == 0 else first,
            "lastname": last,
            "jobtitle": self._random.choice(["Buyer", "CFO", "Owner", None]),
            "emailaddress1": f"{first.lower()}.{serial}@example.com",
            "telephone1": None if serial % 5 == 0 else f"+1 555 {serial:04d}",
            "statecode": 1 if serial % 11 == 0 else 0,
        }
        return self._create("contact", values, lookups)

"""Deterministic, realistic seed data: the awkward values real BC companies hold.

Names carry umlauts, Scandinavian letters, Japanese script and apostrophes; one record per table
fills `displayName` to its maximum length; optional fields are often empty; a share of customers
and vendors is blocked. As in BC, every customer and vendor has a contact linked to it by a
business relation (made by the service); person contacts belong to those company contacts. In
every 25 generated contacts one is a prospect (a company contact with no business relation) and
one works for a prospect or for a blocked customer or vendor.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

COMPANIES = (
    ("CRONUS USA, Inc.", "USD"),
    ("CRONUS Deutschland GmbH", "EUR"),
)
"""Seeded companies with their local currency, which their currency table leaves out."""

CURRENCIES = (
    ("EUR", "Euro", "€", "2:2", 0.01),
    ("USD", "US dollar", "$", "2:2", 0.01),
    ("GBP", "British pound", "£", "2:2", 0.01),
    ("DKK", "Danish krone", "kr.", "2:2", 0.01),
    ("SEK", "Swedish krona", "kr", "2:2", 0.01),
    ("NOK", "Norwegian krone", "kr", "2:2", 0.01),
    ("CHF", "Swiss franc", "CHF", "2:2", 0.05),
    ("JPY", "Japanese yen", "¥", "0:0", 1),
    ("CAD", "Canadian dollar", "$", "2:2", 0.01),
    ("PLN", "Polish złoty", "zł", "2:2", 0.01),
)
SALESPEOPLE = (
    ("JO", "Jim Olive", "Sales Manager"),
    ("PS", "Peter Saddow", "Purchasing Agent"),
    ("BC", "Benjamin Chiu", "Account Manager"),
    ("SØ", "Søren Østergaard", "Key Account Manager"),
    ("MO", "Máire O'Connor", "Sales Representative"),
    ("HK", "田中 花子", ""),
)
PAYMENT_TERMS = (
    ("1M(8D)", "1 Month/2% 8 days", "1M", "8D", 2, True),
    ("14 DAYS", "Net 14 days", "14D", "", 0, False),
    ("30 DAYS", "Net 30 days", "30D", "", 0, False),
    ("60 DAYS", "Net 60 days", "60D", "", 0, False),
    ("CM", "Current Month", "CM", "", 0, False),
    ("COD", "Cash on delivery", "0D", "", 0, False),
    ("7 DAYS", "Net 7 days", "7D", "", 0, False),
)
SHIPMENT_METHODS = (
    ("CIF", "Cost Insurance and Freight"),
    ("EXW", "Ex Warehouse"),
    ("FOB", "Free on Board"),
    ("PICKUP", "Pickup at Location"),
    ("DDP", "Delivered Duty Paid"),
)
SHIPPING_AGENTS = (
    ("DHL", "DHL Systems, Inc."),
    ("FEDEX", "Federal Express Corporation"),
    ("UPS", "UPS Europe SA"),
    ("OWN LOG.", "Own Logistics"),
)
SPECIAL_NAMES = (
    "Müller & Söhne GmbH",
    "Ørsted Vind A/S",
    "株式会社サクラ商事",
    "O'Brien's Pub Supplies",
    "Société d'Équipement Générale",
    "Åkesson Trädgård AB",
    "Zürich Präzision AG",
    "Kowalski i Synowie Sp. z o.o.",
)
NAME_STEMS = (
    "Adatum", "Fabrikam", "Contoso", "Litware", "Northwind", "Tailspin", "Wingtip", "Alpine",
    "Coho", "Proseware", "Trey", "Woodgrove", "Fourth Coffee", "Wide World", "Lucerne",
    "Margie's", "Humongous", "Blue Yonder", "Relecloud", "Graphic Design",
)  # fmt: skip
NAME_SUFFIXES = ("Corporation", "Inc.", "Ltd.", "GmbH", "A/S", "AB", "S.A.", "B.V.", "LLC")
FIRST_NAMES = ("Anna", "Björn", "Chloé", "Dmitri", "Emma", "François", "Hiroshi", "Ingrid",
               "José", "Katarzyna", "Liam", "Mette", "Pål", "Siobhán", "Zoë")  # fmt: skip
LAST_NAMES = ("O'Brien", "Müller", "Jørgensen", "Smith", "García", "Nakamura", "Kowalski",
              "Dubois", "Andersson", "Rossi", "Novák", "van der Berg")  # fmt: skip
PLACES = (
    ("Atlanta", "GA", "US", "31772", "+1 404"),
    ("København", "", "DK", "1050", "+45"),
    ("München", "BY", "DE", "80331", "+49 89"),
    ("London", "", "GB", "EC1A 1BB", "+44 20"),
    ("Tōkyō", "", "JP", "100-0001", "+81 3"),
    ("Malmö", "", "SE", "211 20", "+46 40"),
    ("Zürich", "ZH", "CH", "8001", "+41 44"),
    ("Dublin", "", "IE", "D02 X285", "+353 1"),
)
STREETS = ("Main Street", "Hauptstraße", "Strøget", "Rue de Rivoli", "O'Connell Street")
LONG_NAME = ("Long Name Holding International " * 4)[:100]


@dataclass(slots=True)
class SeedContext:
    """What generated rows may point at in one company (filled by the caller).

    Attributes:
        currency_ids: currency id by code.
        salesperson_codes: codes of the salespeople.
        payment_terms_ids: ids of the payment terms.
        shipment_method_ids: ids of the shipment methods.
        company_contacts: (number, displayName) of the company contacts of customers and vendors
            that are not blocked: where people work.
        other_companies: (number, displayName) of the other company contacts (of blocked
            customers and vendors, prospects); grows as prospects are seeded.
        first_ordinal: the ordinal of the first record of this round of generation.
    """

    currency_ids: dict[str, str] = field(default_factory=dict)
    salesperson_codes: list[str] = field(default_factory=list)
    payment_terms_ids: list[str] = field(default_factory=list)
    shipment_method_ids: list[str] = field(default_factory=list)
    company_contacts: list[tuple[str, str]] = field(default_factory=list)
    other_companies: list[tuple[str, str]] = field(default_factory=list)
    first_ordinal: int = 0


def new_guid(rng: random.Random) -> str:
    """Return a version-4 GUID drawn from `rng`, so ids repeat for the same seed."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def company_name(rng: random.Random, ordinal: int) -> str:
    """Return a trading-company name; the first few are the awkward special ones."""
    if ordinal < len(SPECIAL_NAMES):
        return SPECIAL_NAMES[ordinal]
    if ordinal == len(SPECIAL_NAMES):
        return LONG_NAME
    return f"{rng.choice(NAME_STEMS)} {rng.choice(NAME_SUFFIXES)} {ordinal}"


def person_name(rng: random.Random) -> str:
    """Return a person's full name."""
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _address(rng: random.Random, name: str) -> dict[str, Any]:
    city, state, country, postal, dial = rng.choice(PLACES)
    slug = "".join(ch for ch in name.lower() if ch.isascii() and ch.isalnum())[:30] or "firma"
    sparse = rng.random() < 0.25  # a quarter of the rows leave the optional fields empty
    return {
        "addressLine1": f"{rng.randint(1, 250)} {rng.choice(STREETS)}",
        "addressLine2": "" if sparse or rng.random() < 0.7 else f"Suite {rng.randint(1, 900)}",
        "city": city,
        "state": state,
        "country": country,
        "postalCode": postal,
        "phoneNumber": ""
        if sparse
        else f"{dial} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        "email": "" if sparse else f"info@{slug}.example",
        "website": "" if sparse else f"www.{slug}.example",
    }


def _blocked(rng: random.Random, choices: tuple[str, ...]) -> str:
    return rng.choice(choices) if rng.random() < 0.08 else " "


def customer(rng: random.Random, ordinal: int, context: SeedContext) -> dict[str, Any]:
    """Generate a customer's editable and seeded read-only fields."""
    is_person = ordinal % 7 == 6
    name = person_name(rng) if is_person else company_name(rng, ordinal)
    currency = rng.choice(sorted(context.currency_ids)) if rng.random() < 0.4 else ""
    return {
        "displayName": name,
        "type": "Person" if is_person else "Company",
        **_address(rng, name),
        "salespersonCode": _pick(rng, context.salesperson_codes, 0.8, ""),
        "balanceDue": round(rng.uniform(0, 50_000), 2) if rng.random() < 0.5 else 0,
        "creditLimit": rng.choice((0, 5_000, 10_000, 25_000, 100_000)),
        "taxLiable": rng.random() < 0.5,
        "taxRegistrationNumber": "" if rng.random() < 0.5 else f"DE{rng.randint(10**8, 10**9 - 1)}",
        "currencyCode": currency,
        "currencyId": context.currency_ids.get(currency, "00000000-0000-0000-0000-000000000000"),
        "paymentTermsId": _pick(rng, context.payment_terms_ids, 0.9),
        "shipmentMethodId": _pick(rng, context.shipment_method_ids, 0.6),
        "blocked": _blocked(rng, ("Ship", "Invoice", "All")),
    }


def vendor(rng: random.Random, ordinal: int, context: SeedContext) -> dict[str, Any]:
    """Generate a vendor's editable and seeded read-only fields."""
    name = company_name(rng, ordinal)
    currency = rng.choice(sorted(context.currency_ids)) if rng.random() < 0.4 else ""
    return {
        "displayName": name,
        **_address(rng, name),
        "taxRegistrationNumber": "" if rng.random() < 0.5 else f"GB{rng.randint(10**8, 10**9 - 1)}",
        "currencyCode": currency,
        "currencyId": context.currency_ids.get(currency, "00000000-0000-0000-0000-000000000000"),
        "irs1099Code": "" if rng.random() < 0.8 else "MISC-07",
        "paymentTermsId": _pick(rng, context.payment_terms_ids, 0.9),
        "taxLiable": rng.random() < 0.5,
        "blocked": _blocked(rng, ("Payment", "All")),
        "balance": round(rng.uniform(0, 80_000), 2) if rng.random() < 0.5 else 0,
    }


def contact(rng: random.Random, ordinal: int, context: SeedContext) -> dict[str, Any]:
    """Generate a contact: a person of a customer's or vendor's company contact, mostly.

    Of every 25 contacts generated in one round, the 24th is a prospect: a company contact
    without business relation; the 25th works for a prospect or a blocked customer or vendor.
    The caller fills `number`, and `companyNumber`/`companyName` of company contacts.
    """
    place = (ordinal - context.first_ordinal) % 25
    if place == 23 or not context.company_contacts:
        name = company_name(rng, ordinal // 3)
        return {
            "type": "Company",
            "displayName": name,
            "searchName": name.upper()[:100],
            "contactBusinessRelation": rng.choice((" ", "Other")),
            **_address(rng, name),
        }
    awkward = place == 24 and context.other_companies
    pool = context.other_companies if awkward else context.company_contacts
    company_number, company_display = rng.choice(pool)
    name = person_name(rng)
    return {
        "type": "Person",
        "displayName": name,
        "searchName": name.upper(),
        "jobTitle": rng.choice(("Purchaser", "CEO", "Accountant", "Sales Director", "")),
        "companyNumber": company_number,
        "companyName": company_display,
        "contactBusinessRelation": " ",
        **_address(rng, company_display),
        "mobilePhoneNumber": "" if rng.random() < 0.5 else f"+45 {rng.randint(10**7, 10**8 - 1)}",
        "privacyBlocked": rng.random() < 0.05,
    }


def _pick(rng: random.Random, pool: list[str], share: float, empty: str | None = None) -> str:
    if pool and rng.random() < share:
        return rng.choice(pool)
    return "00000000-0000-0000-0000-000000000000" if empty is None else empty


def catalogue_size(entity_set: str) -> int:
    """Return how many well-known reference rows an entity set seeds with."""
    return len(_CATALOGUES[entity_set])


def catalogue_row(entity_set: str, ordinal: int, taken: Callable[[str], bool]) -> dict[str, Any]:
    """Return the next reference row (currency, salesperson, ...) whose code is still free.

    The well-known rows come first; after them come synthetic codes such as `SM0007`.
    """
    rows = _CATALOGUES[entity_set]
    for row in rows:
        if not taken(row["code"]):
            return row
    prefix = _SYNTHETIC_PREFIX[entity_set]
    number = ordinal
    while taken(f"{prefix}{number:04d}"):
        number += 1
    code = f"{prefix}{number:04d}"
    name_field = "name" if entity_set == "shippingAgents" else "displayName"
    return {"code": code, name_field: f"{entity_set} {code}"}


_CATALOGUES: dict[str, list[dict[str, Any]]] = {
    "currencies": [
        {"code": c, "displayName": n, "symbol": s, "amountDecimalPlaces": p,
         "amountRoundingPrecision": r}
        for c, n, s, p, r in CURRENCIES
    ],
    "salespeoplePurchasers": [
        {"code": c, "displayName": n, "jobTitle": j,
         "email": "" if not j else f"{n.split()[0].lower()}@cronus.example",
         "commisionPercent": 2.5 if j.startswith("Sales") else 0}
        for c, n, j in SALESPEOPLE
    ],
    "paymentTerms": [
        {"code": c, "displayName": n, "dueDateCalculation": due,
         "discountDateCalculation": disc, "discountPercent": pct,
         "calculateDiscountOnCreditMemos": credit}
        for c, n, due, disc, pct, credit in PAYMENT_TERMS
    ],
    "shipmentMethods": [{"code": c, "displayName": n} for c, n in SHIPMENT_METHODS],
    "shippingAgents": [{"code": c, "name": n} for c, n in SHIPPING_AGENTS],
}  # fmt: skip
_SYNTHETIC_PREFIX = {
    "currencies": "X",
    "salespeoplePurchasers": "SP",
    "paymentTerms": "PT",
    "shipmentMethods": "SM",
    "shippingAgents": "SA",
}
GENERATORS: dict[str, Callable[[random.Random, int, SeedContext], dict[str, Any]]] = {
    "customers": customer,
    "vendors": vendor,
    "contacts": contact,
}
"""Generators of the number-series entities; the others come from `catalogue_row`."""

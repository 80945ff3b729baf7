"""Seeding: generated records in a company's tables, as users entering data would make them.

The values come from `seed.py`; this module puts them in place through the service: numbers
from the number series, contacts for customers and vendors with their business relations (as
`BusinessCentralService.new_related_contact` makes them), people assigned to companies.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sandbox.business_central import seed as seeding
from sandbox.business_central.business_relations import RELATED_TYPES

if TYPE_CHECKING:
    import random
    from collections.abc import Callable, Mapping

    from sandbox.business_central.service import BusinessCentralService
    from sandbox.business_central.store import EntityTable, StoredRecord

BULK_LOAD_THRESHOLD = 1_000
"""From this many records on, a table is loaded at once instead of row by row."""


class RecordGenerator:
    """Generates records into the tables of a service."""

    def __init__(
        self,
        service: BusinessCentralService,
        *,
        rngs: Mapping[tuple[str, str], random.Random],
        local_currency: Mapping[str, str],
    ) -> None:
        """Generate with the service's random sources and companies' local currencies."""
        self._service = service
        self._rngs = rngs
        self._local_currency = local_currency

    def generate(
        self, company_id: str, entity_set: str, count: int, *, backdate: bool
    ) -> list[StoredRecord]:
        """Add `count` generated records to a table (and a contact for each customer or vendor).

        With `backdate`, records look entered during the past year; else they are new.
        """
        service = self._service
        table = service.table(company_id, entity_set)
        contacts_table = service.table(company_id, "contacts")
        rng = self._rngs[(company_id.lower(), entity_set)]
        first_ordinal = len(table.rows)
        context = None
        if entity_set in seeding.GENERATORS:
            context = self._seed_context(company_id, first_ordinal)
        bulk = count >= BULK_LOAD_THRESHOLD
        created: list[StoredRecord] = []
        contacts: list[StoredRecord] = []
        for offset in range(count):
            values = self._generated_values(table, rng, first_ordinal + offset, context)
            age = timedelta(seconds=rng.uniform(3_600, 365 * 86_400))
            moment = service.store.clock() - age if backdate else None
            record = service.store.stamp(values, moment)
            created.append(record)
            contact = None
            if entity_set in RELATED_TYPES:
                contact = service.new_related_contact(company_id, entity_set, record, moment)
                contacts.append(contact)
            if not bulk:
                service.store.save(table, record)
                if contact is not None:
                    service.store.save(contacts_table, contact)
        if bulk:
            service.store.load(table, created)
            if contacts:
                service.store.load(contacts_table, contacts)
        return created

    def _generated_values(
        self,
        table: EntityTable,
        rng: random.Random,
        ordinal: int,
        context: seeding.SeedContext | None,
    ) -> dict[str, Any]:
        values = self._service.blank_values(table)
        values["id"] = seeding.new_guid(rng)
        generator = seeding.GENERATORS.get(table.schema.entity_set)
        if generator is not None and context is not None:
            values["number"] = self._service.store.allocate_number(table)
            values.update(generator(rng, ordinal, context))
            self._link_company_contact(values, context)
        else:
            taken = self._taken(table)
            values.update(seeding.catalogue_row(table.schema.entity_set, ordinal, taken))
        return self._service.with_blank_enums(table, values)

    def _taken(self, table: EntityTable) -> Callable[[str], bool]:
        local_currency = self._local_currency.get(table.company_id)
        is_currency = table.schema.entity_set == "currencies"

        def taken(code: str) -> bool:
            if is_currency and code == local_currency:
                return True
            return table.find_by_key(code) is not None

        return taken

    @staticmethod
    def _link_company_contact(values: dict[str, Any], context: seeding.SeedContext) -> None:
        if "companyNumber" in values and values["type"] == "Company":
            values["companyNumber"] = values["number"]
            values["companyName"] = values["displayName"]
            context.other_companies.append((values["number"], values["displayName"]))

    def _seed_context(self, company_id: str, first_ordinal: int) -> seeding.SeedContext:
        def rows(entity_set: str) -> list[StoredRecord]:
            return list(self._service.table(company_id, entity_set).rows.values())

        working = self._working_companies(company_id)
        companies = [
            (r.id, (r.values["number"], r.values["displayName"]))
            for r in sorted(rows("contacts"), key=lambda r: r.values["number"])
            if r.values["type"] == "Company"
        ]
        return seeding.SeedContext(
            currency_ids={r.values["code"]: r.id for r in rows("currencies")},
            salesperson_codes=[r.values["code"] for r in rows("salespeoplePurchasers")],
            payment_terms_ids=[r.id for r in rows("paymentTerms")],
            shipment_method_ids=[r.id for r in rows("shipmentMethods")],
            company_contacts=[company for key, company in companies if key in working],
            other_companies=[company for key, company in companies if key not in working],
            first_ordinal=first_ordinal,
        )

    def _working_companies(self, company_id: str) -> set[str]:
        """Ids of the contacts related to a customer or vendor that is not blocked."""
        blank = {" ", self._service.config.blank_enum_literal}
        working = set()
        for relation in self._service.relations.of_company(company_id):
            entity_set = "customers" if relation.related_type == "Customer" else "vendors"
            related = self._service.table(company_id, entity_set).rows.get(relation.related_id)
            if related is not None and related.values["blocked"] in blank:
                working.add(relation.contact_id)
        return working

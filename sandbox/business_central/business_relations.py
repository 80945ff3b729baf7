"""Business relations the emulator keeps: which contact stands for which customer or vendor.

BC records them in its Contact Business Relation table (contact, "link to table", number). When a
customer or vendor is created, BC's marketing setup makes it a contact of the same name with such
a relation (a company contact, or a person contact for a person customer); people of that company
are person contacts whose `companyNumber` is the company contact's number. API v2.0 has no
entity for the relation itself; it shows it read-only as `contactsInformation`
(`contact_information.py`).

Relations are kept here by SystemIds, which never change, beside the tables rather than in them.
A relation whose contact or customer/vendor is gone is ignored by every reader, so a rolled-back
`$batch` that had created a customer leaves nothing visible behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RelatedType = Literal["Customer", "Vendor"]

RELATED_TYPES: dict[str, RelatedType] = {"customers": "Customer", "vendors": "Vendor"}
"""The entity sets a business relation can link a contact to, with their `relatedType`."""


@dataclass(frozen=True, slots=True)
class BusinessRelation:
    """One contact linked to one customer or vendor.

    Attributes:
        contact_id: the linked contact's SystemId (a company contact, or a person for a person
            customer).
        related_type: `Customer` or `Vendor`.
        related_id: the customer's or vendor's SystemId.
    """

    contact_id: str
    related_type: RelatedType
    related_id: str


class BusinessRelations:
    """The relations of every company: at most one contact per customer or vendor, as in BC."""

    def __init__(self) -> None:
        """Start with no relations."""
        self._by_related: dict[tuple[str, str], BusinessRelation] = {}

    def relate(
        self, company_id: str, contact_id: str, related_type: RelatedType, related_id: str
    ) -> BusinessRelation:
        """Link a contact to a customer or vendor, replacing the record's earlier contact."""
        relation = BusinessRelation(contact_id.lower(), related_type, related_id.lower())
        self._by_related[(company_id.lower(), relation.related_id)] = relation
        return relation

    def unrelate(self, company_id: str, related_id: str) -> None:
        """Drop the relation of a customer or vendor (deleting one does that in BC)."""
        self._by_related.pop((company_id.lower(), related_id.lower()), None)

    def of_related(self, company_id: str, related_id: str) -> BusinessRelation | None:
        """The relation of a customer or vendor, or None."""
        return self._by_related.get((company_id.lower(), related_id.lower()))

    def of_company(self, company_id: str) -> list[BusinessRelation]:
        """Every relation of one company, in the order they were made."""
        company = company_id.lower()
        return [r for (owner, _), r in self._by_related.items() if owner == company]

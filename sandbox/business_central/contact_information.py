"""`contactsInformation`: API v2.0's read-only view of business relations (BC 18 and later).

Served where BC serves it, GET only:

    companies({id})/customers({id})/contactsInformation
    companies({id})/vendors({id})/contactsInformation
    companies({id})/customers?$expand=contactsInformation($filter=contactType eq 'Company')
    companies({id})/contactsInformation?$filter=relatedId eq {id} and relatedType eq 'Vendor'

The rows of a customer (or vendor) are the contact its business relation names and every
contact whose `companyNumber` is that contact's number (so a company contact and its people),
each with the customer's id as `relatedId`, in contact number order:

    {"contactId": "8f25...", "contactNumber": "CT000010", "contactName": "Adatum Corporation",
     "contactType": "Company", "relatedId": "8e25...", "relatedType": "Customer"}

BC builds the rows from a related id and type, so at company level it refuses a read whose
`$filter` does not name both `relatedId` and `relatedType` ("id type not specified."). Inside
`$expand` and below a record, `$filter` and `$select` apply to the rows.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.business_central.api_error import ApiError, bad_request
from sandbox.business_central.business_relations import RELATED_TYPES
from sandbox.odata_filter import FilterExpression, FilterSyntaxError, parse_filter

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sandbox.business_central.service import BusinessCentralService
    from sandbox.business_central.store import StoredRecord

NAVIGATION = "contactsInformation"
FIELDS = ("contactId", "contactNumber", "contactName", "contactType", "relatedId", "relatedType")
_EXPAND = re.compile(r"^\s*(?P<name>[A-Za-z_]\w*)\s*(?:\((?P<options>.*)\))?\s*$", re.DOTALL)
_NESTED_OPTIONS = frozenset({"$filter", "$select"})


@dataclass(frozen=True, slots=True)
class RowQuery:
    """The `$filter` and `$select` applied to contact information rows."""

    condition: FilterExpression | None = None
    select: tuple[str, ...] | None = None

    def apply(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Return the rows that match, with the selected fields only."""
        kept = [r for r in rows if self.condition is None or self.condition.matches(r)]
        if self.select is None:
            return kept
        return [{name: row[name] for name in self.select} for row in kept]


def row_query(filter_text: str, select_text: str) -> RowQuery:
    """Parse `$filter` and `$select` for contact information rows.

    Raises:
        ApiError: bad syntax or a property the rows do not have.
    """
    condition = None
    if filter_text.strip():
        try:
            condition = _parse(filter_text.strip())
        except FilterSyntaxError as error:
            raise bad_request(str(error)) from error
        for name in sorted(condition.fields()):
            _require_field(name)
    select = tuple(part.strip() for part in select_text.split(",") if part.strip()) or None
    for name in select or ():
        _require_field(name)
    return RowQuery(condition, None if select is None or "*" in select else select)


@functools.lru_cache(maxsize=64)
def _parse(text: str) -> FilterExpression:
    return parse_filter(text)


def parse_expand(entity_set: str, entity_type: str, text: str) -> RowQuery | None:
    """Parse `$expand` of a customers or vendors read; None when there is none.

    Example: `contactsInformation($filter=contactType eq 'Company';$select=contactNumber)`.

    Raises:
        ApiError: another navigation, another entity set, or bad nested options.
    """
    if not text.strip():
        return None
    match = _EXPAND.match(text)
    name = match.group("name") if match else text.strip()
    if match is None or name != NAVIGATION or entity_set not in RELATED_TYPES:
        raise bad_request(
            f"Could not find a property named '{name}' on type 'Microsoft.NAV.{entity_type}'."
        )
    options = _nested_options(match.group("options") or "")
    return row_query(options.get("$filter", ""), options.get("$select", ""))


def _nested_options(text: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for part in _split_options(text):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in _NESTED_OPTIONS:
            raise bad_request(f"The query parameter '{name}' is not supported in $expand.")
        options[name] = value
    return options


def _split_options(text: str) -> list[str]:
    # Options are separated by ';' outside quoted literals.
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == "'":
            quoted = not quoted
        if char == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def _require_field(name: str) -> None:
    if name not in FIELDS and name != "*":
        raise bad_request(
            f"Could not find a property named '{name}' on type 'Microsoft.NAV.contactInformation'."
        )


class ContactInformation:
    """Builds the rows of one company's customers and vendors, indexing its contacts once."""

    def __init__(self, service: BusinessCentralService, company_id: str) -> None:
        """Index the company's contacts by `companyNumber` for the reads of one request."""
        self._service = service
        self._company_id = company_id
        self._contacts = service.table(company_id, "contacts").rows
        self._by_company: dict[str, list[StoredRecord]] | None = None

    def rows(self, entity_set: str, related_id: str) -> list[dict[str, Any]]:
        """The rows of one customer or vendor; none when it has no (living) relation."""
        related_type = RELATED_TYPES[entity_set]
        relation = self._service.relations.of_related(self._company_id, related_id)
        if relation is None or relation.related_type != related_type:
            return []
        linked = self._contacts.get(relation.contact_id)
        related = self._service.table(self._company_id, entity_set).rows.get(relation.related_id)
        if linked is None or related is None:
            return []
        people = self._members().get(linked.values["number"]) or [linked]
        return [_row(contact, related.id, related_type) for contact in people]

    def company_rows(self, filter_text: str) -> list[dict[str, Any]]:
        """The answer to `companies({id})/contactsInformation?$filter=...`.

        Raises:
            ApiError: the filter does not name both `relatedId` and `relatedType`.
        """
        query = row_query(filter_text, "")
        named = query.condition.fields() if query.condition is not None else frozenset()
        if not {"relatedId", "relatedType"} <= named:
            raise ApiError(400, "Application_DialogException", "id type not specified.")
        found: list[dict[str, Any]] = []
        for relation in self._service.relations.of_company(self._company_id):
            entity_set = next(s for s, t in RELATED_TYPES.items() if t == relation.related_type)
            found += self.rows(entity_set, relation.related_id)
        return query.apply(found)

    def _members(self) -> Mapping[str, list[StoredRecord]]:
        if self._by_company is None:
            members: dict[str, list[StoredRecord]] = {}
            for contact in sorted(self._contacts.values(), key=lambda c: c.values["number"]):
                company = contact.values["companyNumber"]
                if company:
                    members.setdefault(company, []).append(contact)
            self._by_company = members
        return self._by_company


def _row(contact: StoredRecord, related_id: str, related_type: str) -> dict[str, Any]:
    values = contact.values
    return {
        "contactId": contact.id,
        "contactNumber": values["number"],
        "contactName": values["displayName"],
        "contactType": values["type"],
        "relatedId": related_id,
        "relatedType": related_type,
    }

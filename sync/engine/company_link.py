"""The company of a contact: BC ``companyNumber`` ⇄ Dataverse ``parentcustomerid`` (an account).

BC's own integration does not map this link as a field; code computes it from the couplings of
the company's customer or vendor (bc-native-sync-spec §5.5, §5.9). Here it is an ordinary field
mapping of CONTACT whose lookup goes ``via`` ``company_contact`` through CUSTOMER, then VENDOR.
Planning, the three-way merge, the coupling's base (so an unchanged parent is never rewritten
and our own writes echo as nothing), dry runs and per-record errors therefore treat the link
like any other mapped value. Only its ``LookupTable`` is special, and this module builds it::

    BC person contact --companyNumber--> company contact --business relation--> customer/vendor
                                                                                       | coupling
    Dataverse contact --parentcustomerid--> account <----------------------------------+

- BC → Dataverse: the company contact's number, through its business relation, names a
  customer (or vendor); that record's CUSTOMER (else VENDOR) coupling gives the account, bound
  as ``parentcustomerid_account@odata.bind: /accounts(<id>)``.
- Dataverse → BC: the parent account's CUSTOMER (else VENDOR) coupling gives the customer or
  vendor; its company contact's number becomes the BC contact's ``companyNumber``.

Where the chain breaks the contact is neither created nor updated (BC's rule): its per-record
error (``CompanyLinkUnresolved``) names the missing link and how to mend it: no company, a
company contact with no business relation, a customer or vendor that is not coupled, a coupled
one without a company contact, a parent account that is not coupled, or a parent that is a
contact rather than an account. Customers come before vendors, as in BC.

Reading the business relations
------------------------------

API v2.0 shows them read-only as ``contactsInformation`` (BC 18 and later). The page behind it
fills its rows from a related id *and* type, which a customer's or vendor's navigation supplies
(``customers({id})/contactsInformation``); at company level it answers only requests filtered
on both ``relatedId`` and ``relatedType``, and ``contacts`` has no such navigation. So the
relations of a whole mapping come from one paged read of its entity set that expands the
navigation, keeping only company contacts::

    GET companies({id})/customers?$select=id,number
        &$expand=contactsInformation($filter=contactType eq 'Company';
                                     $select=contactId,contactNumber,contactType)

That is one request per 20,000 customers (the API's page size) instead of one per customer or
per contact, each CONTACT run. What it holds grows with the coupled customers and vendors, like
the coupling index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sync.engine.fields import LookupTable, foreign_reference
from sync.models import Coupling, Lookup, MappingSet, TableMapping
from sync.ports import CouplingStore, SideGateway


async def load_company_links(
    mappings: MappingSet,
    lookup: Lookup,
    *,
    scope: str,
    couplings: CouplingStore,
    bc: SideGateway,
) -> LookupTable:
    """The translations company contact number ⇄ account id, with the reasons of gaps.

    Args:
        mappings: The scope's mapping set.
        lookup: A ``company_contact`` lookup; its mappings sync customers or vendors.
        scope: The scope key.
        couplings: Where the mappings' couplings are.
        bc: The BC side, which reads the business relations.

    Returns:
        A table whose BC keys are company contact numbers and whose Dataverse keys are account
        ids (lower case), explained by a ``CompanyLinkExplainer``.
    """
    by_number: dict[str, str] = {}
    by_account: dict[str, str] = {}
    uncoupled: dict[str, str] = {}
    contactless: dict[str, str] = {}
    for name in lookup.mappings:
        target = mappings.get(name)
        coupled = {c.bc_id.lower(): c async for c in couplings.load_couplings(scope, name)}
        related: set[str] = set()
        async for relation in bc.read_business_relations(target):
            related_id = relation.related_id.lower()
            related.add(related_id)
            coupling = coupled.get(related_id)
            number = relation.contact_number
            if coupling is None:
                what = f"{_kind(target)} {relation.related_number or relation.related_id}"
                uncoupled.setdefault(
                    number,
                    f"company contact {number} belongs to {what}, which is not coupled in "
                    f"mapping {name}; sync {name} first, or couple that {_kind(target)} if "
                    "the mapping's filter leaves it out",
                )
                continue
            by_number.setdefault(number, coupling.dataverse_id.lower())
            by_account.setdefault(coupling.dataverse_id.lower(), number)
        for related_id, coupling in coupled.items():
            if related_id not in related:
                account = coupling.dataverse_id.lower()
                contactless.setdefault(account, _contactless(target, coupling))
    first = mappings.get(lookup.mapping)
    return LookupTable(
        mapping=lookup.table_key,
        entity_set=first.dataverse_entity_set,
        dataverse_by_bc=by_number,
        bc_by_dataverse=by_account,
        explainer=CompanyLinkExplainer(
            mappings=lookup.mappings, uncoupled=uncoupled, contactless=contactless
        ),
    )


@dataclass(frozen=True)
class CompanyLinkExplainer:  # implements LookupExplainer
    """Why a contact's company has no counterpart, in words an admin can act on.

    Attributes:
        mappings: The mappings the link goes through (``CUSTOMER``, ``VENDOR``).
        uncoupled: By company contact number: its customer or vendor is not coupled.
        contactless: By account id: its coupled customer or vendor has no company contact.
    """

    mappings: tuple[str, ...]
    uncoupled: Mapping[str, str]
    contactless: Mapping[str, str]

    def explain_bc(self, value: str | None) -> str:
        """Why a BC ``companyNumber`` (None: blank) has no parent account."""
        if value is None:
            return (
                "the contact has no company (companyNumber is blank); BC syncs only the "
                "contacts of a company, so give it one"
            )
        known = self.uncoupled.get(value)
        if known is not None:
            return known
        return (
            f"company contact {value} has no business relation to a customer or vendor in BC; "
            "relate it to one (on the BC contact: Create as Customer or Vendor, or link it to "
            "an existing one) or give the contact another company"
        )

    def explain_dataverse(self, value: str | None) -> str:
        """Why a Dataverse ``parentcustomerid`` (None: blank) has no BC company contact."""
        names = " or ".join(self.mappings)
        if value is None:
            return (
                "the contact has no parent account; BC takes only the contacts of an account, "
                "so set its parent (Company Name) to one"
            )
        foreign = foreign_reference(value)
        if foreign is not None:
            return (
                f"its parent is a {foreign[0]} ({foreign[1]}), not an account; BC links a "
                "contact only to a company, so make an account its parent"
            )
        known = self.contactless.get(value)
        if known is not None:
            return known
        return (
            f"parent account {value} is not coupled in {names}; sync {names} first, or couple "
            "the account to a BC customer or vendor"
        )


def _kind(target: TableMapping) -> str:
    return {"customers": "customer", "vendors": "vendor"}.get(target.bc_entity, target.bc_entity)


def _contactless(target: TableMapping, coupling: Coupling) -> str:
    record = f"{_kind(target)} {coupling.base_bc.get('number') or coupling.bc_id}"
    return (
        f"parent account {coupling.dataverse_id.lower()} is coupled to {record} in mapping "
        f"{target.name}, which has no company contact in BC; create the {_kind(target)}'s "
        "contact in BC (Contact on its card), then sync again"
    )

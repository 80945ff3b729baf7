"""A BC company contact and the customer or vendor it stands for."""

from __future__ import annotations

from pydantic import Field

from sync.models.base import FrozenModel


class BusinessRelation(FrozenModel):
    """The business relation of a BC company contact to one customer or vendor.

    BC links a person contact to its company contact (``companyNumber``), and the company
    contact to a customer or vendor through a business relation. API v2.0 shows the relation,
    read-only, as the ``contactsInformation`` of a customer or vendor whose ``contactType`` is
    ``Company``.

    Attributes:
        related_id: The customer's or vendor's id (SystemId).
        related_number: Its number, for messages; empty when unknown.
        contact_id: The company contact's id.
        contact_number: The company contact's number: what person contacts hold as their
            ``companyNumber``.
    """

    related_id: str = Field(min_length=1)
    related_number: str = ""
    contact_id: str = Field(min_length=1)
    contact_number: str = Field(min_length=1)

"""The emulator's state and write rules, shared by the HTTP API, `$batch` and the control plane.

`BusinessCentralService` is what `app.state.bc` holds. In-process tests use its plain methods
(`seed`, `edit`, `delete`, `get`, `all`, `companies`, `reset`, `relate`, `unrelate`,
`related_contact`); the API layer uses `insert`, `modify` and `remove`, which enforce what BC
enforces (If-Match, read-only fields, relations). Like BC with its marketing setup, creating a
customer or vendor creates its contact and the business relation between them
(`business_relations.py`).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sandbox.business_central import seed as seeding
from sandbox.business_central.api_error import ApiError
from sandbox.business_central.business_relations import RELATED_TYPES, BusinessRelations
from sandbox.business_central.generation import RecordGenerator
from sandbox.business_central.payload import key_caption, parse_changes, resolve_relations
from sandbox.business_central.schema import COMPANY_ENTITIES, EMPTY_GUID, FieldKind
from sandbox.business_central.store import (
    BusinessCentralStore,
    ChangeListener,
    EntityTable,
    RecordChange,
    StoredRecord,
    format_timestamp,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from sandbox.business_central.config import EmulatorConfig

_CONTACT_COPIES = (
    "addressLine1",
    "addressLine2",
    "city",
    "state",
    "country",
    "postalCode",
    "phoneNumber",
    "email",
    "website",
)
"""Fields a customer's or vendor's new contact takes over from it."""
_MISSING_IF_MATCH = (
    "Could not validate the client concurrency token required by the service. "
    "Please provide a valid token in the client request."
)


def utc_now() -> datetime:
    """Return the current time in UTC (the default clock)."""
    return datetime.now(UTC)


class BusinessCentralService:
    """All emulated companies and the rules BC applies to reads and writes.

    Attributes:
        config: the emulator settings.
        store: the tables; replaced on `reset`.
    """

    def __init__(
        self,
        config: EmulatorConfig,
        *,
        clock: Callable[[], datetime] | None = None,
        seed: int = 0,
        records: int = 50,
    ) -> None:
        """Create the service and seed it (see `reset`)."""
        self.config = config
        self._clock = clock or utc_now
        self._change_listeners: list[ChangeListener] = []
        self.reset(seed=seed, records=records)

    def reset(self, *, seed: int = 0, records: int = 50) -> None:
        """Drop everything and seed the companies again.

        Args:
            seed: drives every generated id, name and value; the same seed (and clock) gives
                the same data.
            records: customers, vendors and contacts to create per company.
        """
        self.store = BusinessCentralStore(self._clock)
        self.relations = BusinessRelations()
        self._rngs: dict[tuple[str, str], random.Random] = {}
        self._local_currency: dict[str, str] = {}
        self._generator = RecordGenerator(
            self, rngs=self._rngs, local_currency=self._local_currency
        )
        for index, (name, local_currency) in enumerate(seeding.COMPANIES):
            company_id = self._add_company(random.Random(f"{seed}/company/{index}"), name)
            self._local_currency[company_id] = local_currency
            for entity_set, schema in COMPANY_ENTITIES.items():
                self.store.add_table(EntityTable(schema, company_id))
                self._rngs[(company_id, entity_set)] = random.Random(f"{seed}/{index}/{entity_set}")
            for entity_set in COMPANY_ENTITIES:
                count = (
                    records
                    if entity_set in seeding.GENERATORS
                    else seeding.catalogue_size(entity_set)
                )
                self._generator.generate(company_id, entity_set, count, backdate=True)
        # Listening starts after seeding: the seeded past is not news to any subscriber.
        self.store.listener = self._announce

    def add_change_listener(self, listener: ChangeListener) -> None:
        """Tell `listener` of every committed write (API, `$batch`, `seed`/`edit`/`delete`)."""
        self._change_listeners.append(listener)

    def _announce(self, change: RecordChange) -> None:
        for listener in self._change_listeners:
            listener(change)

    # --- plain Python API for in-process tests and benchmarks -------------------------------

    def companies(self) -> list[dict[str, Any]]:
        """Return the companies as the API shows them."""
        return [record.to_dict() for record in self.store.companies.rows.values()]

    def company_ids(self) -> list[str]:
        """Return the company ids in seeding order."""
        return list(self.store.companies.rows)

    def get(self, company_id: str, entity_set: str, record_id: str) -> dict[str, Any] | None:
        """Return one record as the API shows it, or None."""
        record = self.table(company_id, entity_set).rows.get(record_id.lower())
        return None if record is None else record.to_dict()

    def all(self, company_id: str, entity_set: str) -> list[dict[str, Any]]:
        """Return every record of a table in the API's default (primary-key) order."""
        table = self.table(company_id, entity_set)
        return [table.rows[key[-1]].to_dict() for key in table.ordered_keys(())]

    def seed(self, company_id: str, entity_set: str, count: int) -> list[dict[str, Any]]:
        """Add `count` realistic records now, as users entering data would."""
        created = self._generator.generate(company_id, entity_set, count, backdate=False)
        return [record.to_dict() for record in created]

    def edit(
        self, company_id: str, entity_set: str, record_id: str, changes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Change a record as a user in the BC client would (no If-Match needed)."""
        return self.modify(company_id, entity_set, record_id, dict(changes), "*").to_dict()

    def delete(self, company_id: str, entity_set: str, record_id: str) -> None:
        """Delete a record as a user would (no If-Match needed)."""
        self.remove(company_id, entity_set, record_id, "*")

    def relate(self, company_id: str, contact_id: str, entity_set: str, related_id: str) -> None:
        """Link a contact to a customer or vendor (`entity_set`), replacing its earlier one.

        Raises:
            ApiError: the contact or the customer/vendor does not exist.
        """
        self.find(self.table(company_id, "contacts"), contact_id)
        self.find(self.table(company_id, entity_set), related_id)
        self.relations.relate(company_id, contact_id, RELATED_TYPES[entity_set], related_id)

    def unrelate(self, company_id: str, related_id: str) -> None:
        """Drop the business relation of a customer or vendor; its contact stays."""
        self.relations.unrelate(company_id, related_id)

    def related_contact(self, company_id: str, related_id: str) -> dict[str, Any] | None:
        """Return the contact linked to a customer or vendor, or None."""
        relation = self.relations.of_related(company_id, related_id)
        return None if relation is None else self.get(company_id, "contacts", relation.contact_id)

    # --- the API's rules ----------------------------------------------------------------------

    def resolve_company(self, reference: str) -> str:
        """Return the id of the company named or identified by `reference`.

        Raises:
            ApiError: no such company (`Internal_CompanyNotFound`).
        """
        companies = self.store.companies.rows
        candidate = reference.strip("{}").lower()
        if candidate in companies:
            return candidate
        for record in companies.values():
            if record.values["name"] == reference:
                return record.id
        raise ApiError(
            404,
            "Internal_CompanyNotFound",
            "Cannot process the request because the default company cannot be found. You can "
            'add a query string in the form of "company=[name]".',
        )

    def table(self, company_id: str, entity_set: str) -> EntityTable:
        """Return a company's table of an entity set.

        Raises:
            ApiError: unknown entity set (`BadRequest_ResourceNotFound`).
        """
        table = self.store.table(company_id.lower(), entity_set)
        if table is None:
            raise ApiError(
                404,
                "BadRequest_ResourceNotFound",
                f"Resource not found for the segment '{entity_set}'.",
            )
        return table

    def find(self, table: EntityTable, record_id: str) -> StoredRecord:
        """Return a record of a table.

        Raises:
            ApiError: no record with that id (404, `config.not_found_code`).
        """
        record = table.rows.get(record_id.lower())
        if record is None:
            raise ApiError(
                404,
                self.config.not_found_code,
                f"The {table.schema.caption} does not exist. Identification fields and values: "
                f"Id='{record_id}'",
            )
        return record

    def insert(self, company_id: str, entity_set: str, body: object) -> StoredRecord:
        """Create a record from a POST body, as BC does.

        Raises:
            ApiError: the body breaks a rule (read-only or unknown field, length, relation,
                duplicate key, missing code).
        """
        table = self.table(company_id, entity_set)
        schema = table.schema
        changes = parse_changes(
            schema,
            body,
            allow_id=self.config.accept_client_id,
            blank_enum=self.config.blank_enum_literal,
        )
        values = self.blank_values(table)
        values.update(changes)
        values["id"] = changes.get("id") or self._new_id(company_id, entity_set)
        if values["id"] in table.rows:
            raise self._duplicate(table, "Id", values["id"])
        resolve_relations(schema, values, changes, lambda name: self.table(company_id, name))
        self._assign_key(table, values)
        record = self.store.stamp(values)
        self.store.save(table, record)
        if entity_set in RELATED_TYPES:
            contact = self.new_related_contact(company_id, entity_set, record, None)
            self.store.save(self.table(company_id, "contacts"), contact)
        return record

    def modify(
        self,
        company_id: str,
        entity_set: str,
        record_id: str,
        body: object,
        if_match: str | None,
    ) -> StoredRecord:
        """Apply a PATCH body to a record, checking its If-Match etag first.

        Raises:
            ApiError: missing/stale etag, unknown record, or the body breaks a rule.
        """
        table = self.table(company_id, entity_set)
        current = self.find(table, record_id)
        self._check_etag(current, if_match)
        changes = parse_changes(
            table.schema, body, allow_id=False, blank_enum=self.config.blank_enum_literal
        )
        values = dict(current.values)
        values.update(changes)
        resolve_relations(table.schema, values, changes, lambda name: self.table(company_id, name))
        key_field = table.schema.key_field
        if key_field in changes and changes[key_field] != current.values[key_field]:
            self._assign_key(table, values)
        record = self.store.stamp(values)
        self.store.save(table, record)
        return record

    def remove(
        self, company_id: str, entity_set: str, record_id: str, if_match: str | None
    ) -> None:
        """Delete a record after checking its If-Match etag.

        Raises:
            ApiError: missing/stale etag or unknown record.
        """
        table = self.table(company_id, entity_set)
        current = self.find(table, record_id)
        self._check_etag(current, if_match)
        self.store.remove(table, current.id)
        if entity_set in RELATED_TYPES:
            self.relations.unrelate(company_id, current.id)

    # --- internals ----------------------------------------------------------------------------

    def _check_etag(self, current: StoredRecord, if_match: str | None) -> None:
        if if_match is None or not if_match.strip():
            raise ApiError(400, "BadRequest_InvalidToken", _MISSING_IF_MATCH)
        offered = {_strip_weak(tag) for tag in if_match.split(",")}
        if "*" in offered or _strip_weak(current.etag) in offered:
            return
        raise ApiError(
            self.config.stale_etag_status,
            "Request_EntityChanged",
            "Another user has already changed the record.",
        )

    def _assign_key(self, table: EntityTable, values: dict[str, Any]) -> None:
        schema = table.schema
        key_field = schema.key_field
        if not values.get(key_field):
            if schema.number_prefix is None:
                raise ApiError(
                    400,
                    "Application_FieldValidationException",
                    f"{key_caption(schema)} must have a value in {schema.caption}: "
                    f"{key_caption(schema)}=. It cannot be zero or empty.",
                )
            values[key_field] = self.store.allocate_number(table)
        existing = table.find_by_key(values[key_field])
        if existing is not None and existing.id != values["id"]:
            raise self._duplicate(table, key_caption(schema), values[key_field])
        if schema.entity_set == "contacts" and values["type"] == "Company":
            values["companyNumber"] = values["number"]

    @staticmethod
    def _duplicate(table: EntityTable, caption: str, value: str) -> ApiError:
        return ApiError(
            400,
            "Internal_EntityWithSameKeyExists",
            f"The {table.schema.caption} already exists. Identification fields and values: "
            f"{caption}='{value}'",
        )

    def blank_values(self, table: EntityTable) -> dict[str, Any]:
        """Return a full record of the values BC shows for fields nobody has filled in."""
        return self.with_blank_enums(table, table.schema.defaults())

    def _new_id(self, company_id: str, entity_set: str) -> str:
        return seeding.new_guid(self._rngs[(company_id.lower(), entity_set)])

    def _add_company(self, rng: random.Random, name: str) -> str:
        created = format_timestamp(self._clock() - timedelta(days=rng.randint(400, 900)))
        company_id = seeding.new_guid(rng)
        values: dict[str, Any] = {
            "id": company_id,
            "systemVersion": "26.0.30643.32025",
            "timestamp": rng.randint(10_000, 99_999),
            "name": name,
            "displayName": name,
            "businessProfileId": "",
            "systemCreatedAt": created,
            "systemCreatedBy": EMPTY_GUID,
            "systemModifiedAt": created,
            "systemModifiedBy": EMPTY_GUID,
        }
        record = StoredRecord(values, self.store.new_etag(company_id))
        self.store.companies.put(record)
        return record.id

    def new_related_contact(
        self,
        company_id: str,
        entity_set: str,
        related: StoredRecord,
        modified_at: datetime | None,
    ) -> StoredRecord:
        """Make the contact BC's marketing setup creates with a customer or vendor, and relate it.

        The caller saves it; `modified_at` backdates seeded contacts.
        """
        contacts = self.table(company_id, "contacts")
        source = related.values
        kind = source.get("type", "Company")  # vendors have no type: always companies
        values = self.blank_values(contacts)
        values.update({name: source[name] for name in _CONTACT_COPIES})
        values.update(
            id=self._new_id(company_id, "contacts"),
            number=self.store.allocate_number(contacts),
            type=kind,
            displayName=source["displayName"],
            searchName=source["displayName"].upper()[:100],
            contactBusinessRelation=RELATED_TYPES[entity_set],
        )
        if kind == "Company":
            values["companyNumber"] = values["number"]
            values["companyName"] = values["displayName"]
        self.relations.relate(company_id, values["id"], RELATED_TYPES[entity_set], related.id)
        return self.store.stamp(self.with_blank_enums(contacts, values), modified_at)

    def with_blank_enums(self, table: EntityTable, values: dict[str, Any]) -> dict[str, Any]:
        """Write blank enum values the way the configured BC version shows them."""
        literal = self.config.blank_enum_literal
        if literal != " ":
            for spec in table.schema.fields:
                if spec.kind is FieldKind.ENUM and values[spec.name] == " ":
                    values[spec.name] = literal
        return values


def _strip_weak(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag

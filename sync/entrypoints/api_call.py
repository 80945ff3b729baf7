"""One HTTP API request: its parts parsed and checked, its company and mapping resolved.

The helpers raise ``ApiError`` for the caller's mistakes, so an operation reads top to bottom
as the happy path; ``api_handler.handle`` turns the errors into answers.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import azure.functions as func
from pydantic import BaseModel, ValidationError

from sync.entrypoints.api_error import ApiError, Details, translate
from sync.entrypoints.api_requests import GUID_PATTERN
from sync.entrypoints.dependencies import Dependencies, get_dependencies
from sync.errors import SyncError
from sync.mappings.configuration import load_configuration
from sync.models import MappingSet, Scope, TableMapping

Model = TypeVar("Model", bound=BaseModel)
_GUID = re.compile(GUID_PATTERN)
_FLAGS = {"true": True, "1": True, "false": False, "0": False}
_CORRELATION_HEADERS = ("x-correlation-id", "x-ms-client-tracking-id", "x-ms-workflow-run-id")


@dataclass
class ApiAnswer:
    """A successful (or already translated) answer."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Operation = Callable[["ApiCall"], Awaitable[ApiAnswer]]


class ApiCall:
    """The request being answered, with helpers that raise ``ApiError`` on bad input."""

    def __init__(self, req: func.HttpRequest) -> None:
        self.req = req
        self.correlation_id = next(
            (req.headers[h] for h in _CORRELATION_HEADERS if req.headers.get(h)),
            uuid.uuid4().hex,
        )[:100]
        self.run_id: str | None = None
        self._dependencies: Dependencies | None = None
        self._company: str | None = None

    async def dependencies(self) -> Dependencies:
        """The engine and its surroundings."""
        if self._dependencies is None:
            self._dependencies = await get_dependencies()
        return self._dependencies

    def route(self, name: str) -> str:
        """A route parameter."""
        return str(self.req.route_params.get(name, ""))

    def id_route(self, name: str) -> str:
        """A route parameter that must be an id: a GUID or 32 hex digits (lower-cased)."""
        value = self.route(name)
        if not _GUID.match(value) and not re.fullmatch(r"[0-9a-fA-F]{32}", value):
            raise ApiError(400, "invalid_id", f"{name} {value!r} is not an id", [{"field": name}])
        return value.lower()

    def flag(self, name: str) -> bool | None:
        """A true/false query parameter, None when absent."""
        value = self.req.params.get(name)
        if value is None:
            return None
        if value.lower() not in _FLAGS:
            raise ApiError(400, "invalid_query", f"{name} must be true or false", [{"field": name}])
        return _FLAGS[value.lower()]

    def json(self) -> object:
        """The JSON body, None when empty."""
        raw = self.req.get_body()
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, "invalid_json", f"The body is not valid JSON: {exc}") from None

    def body(self, model: type[Model]) -> Model:
        """The body parsed as ``model``; an empty body counts as ``{}``."""
        data = self.json()
        try:
            return model.model_validate({} if data is None else data)
        except ValidationError as exc:
            raise ApiError(
                400, "invalid_request", "The body does not fit the request.", _details(exc)
            ) from None

    async def company(self) -> str:
        """The company the request is about: ``?company=``, or the only one configured."""
        if self._company is None:
            self._company = _pick_company(
                self.req.params.get("company"), (await self.dependencies()).companies
            )
        return self._company

    async def scope(self) -> str:
        """The state store's scope key of the company."""
        engine = (await self.dependencies()).engine
        company = await self.company()
        return Scope(tenant=engine.tenant, environment=engine.environment, company_id=company).key

    async def configuration(self) -> MappingSet:
        """The company's mappings (saved, or the defaults)."""
        store = (await self.dependencies()).engine.store.mappings
        return await load_configuration(store, await self.scope())

    async def mapping(self, name: str) -> TableMapping:
        """The mapping the route names (case and ``_``/``-``/space insensitive).

        Raises:
            ApiError: 404 when no mapping has that name.
        """
        return find_mapping(await self.configuration(), name)

    async def base_url(self) -> str:
        """The app's public origin, for absolute links."""
        configured = (await self.dependencies()).api.public_base_url
        if configured:
            return configured
        match = re.match(r"^(https?://[^/]+)", self.req.url)
        return match.group(1) if match else ""


def find_mapping(configuration: MappingSet, name: str) -> TableMapping:
    """The mapping called ``name``, also as ``payment_terms`` for ``PAYMENT TERMS``.

    Raises:
        ApiError: 404 when there is none.
    """
    wanted = _normalized(name)
    for mapping in configuration.mappings:
        if mapping.name == name or _normalized(mapping.name) == wanted:
            return mapping
    known = ", ".join(m.name for m in configuration.mappings)
    raise ApiError(404, "mapping_not_found", f"No mapping {name!r}; known: {known}")


def _normalized(name: str) -> str:
    return re.sub(r"[\s_-]+", "_", name.strip()).upper()


def _pick_company(requested: str | None, companies: tuple[str, ...]) -> str:
    if requested is None:
        if len(companies) == 1:
            return companies[0]
        raise ApiError(
            400,
            "company_required",
            "Several companies are configured; say which with ?company=<id>.",
            [{"company": company} for company in companies],
        )
    if not _GUID.match(requested):
        raise ApiError(400, "invalid_id", "company must be a GUID", [{"field": "company"}])
    for company in companies:
        if company.lower() == requested.lower():
            return company
    raise ApiError(404, "company_not_found", f"Company {requested} is not configured here.")


def _details(error: ValidationError) -> Details:
    return [
        {"field": ".".join(str(part) for part in e["loc"]) or "body", "message": e["msg"]}
        for e in error.errors(include_url=False, include_input=False)
    ]


async def guarded(call: ApiCall, operation: Operation) -> ApiAnswer:
    """Run an operation; the caller's mistakes and engine errors become error answers."""
    try:
        return await operation(call)
    except ApiError as error:
        return error_answer(error)
    except SyncError as error:
        return error_answer(translate(error))


def error_answer(error: ApiError) -> ApiAnswer:
    """The answer of an ``ApiError``."""
    return ApiAnswer(error.status, error.body(), error.headers)

"""The answers of the mapping routes (``mappings_api``): list, read, replace, reset, export, import.

``mappings_api`` registers the routes and imports this module on their first call, so the
models, mapping files and settings it needs are not loaded at cold start.
"""

from __future__ import annotations

import json
from typing import Any

from sync.entrypoints.api_call import ApiAnswer, ApiCall, find_mapping
from sync.entrypoints.api_error import ApiError
from sync.entrypoints.api_views import MappingListView, MappingSummaryView
from sync.mappings import FORMAT, VERSION, export_mappings, import_mappings
from sync.mappings.configuration import replace_configuration, reset_configuration
from sync.models import MappingSet


async def list_mappings(call: ApiCall) -> ApiAnswer:
    """The company's mappings in run order."""
    store = (await call.dependencies()).engine.store.mappings
    saved = await store.load_mappings(await call.scope())
    return ApiAnswer(200, _list_view(await call.configuration(), customized=saved is not None))


async def get_mapping(call: ApiCall) -> ApiAnswer:
    """One mapping, as in a mapping file."""
    configuration = await call.configuration()
    mapping = find_mapping(configuration, call.route("name"))
    return ApiAnswer(200, _documents(configuration)[mapping.name])


async def replace_mapping(call: ApiCall) -> ApiAnswer:
    """Replace one mapping; the whole set is checked before it is saved."""
    document = call.json()
    if not isinstance(document, dict):
        raise ApiError(400, "invalid_request", "The body must be a table mapping (JSON object).")
    configuration = await call.configuration()
    current = find_mapping(configuration, call.route("name"))
    document.setdefault("name", current.name)
    if document["name"] != current.name:
        raise ApiError(
            400,
            "name_mismatch",
            f"The body names {document['name']!r} but the route {current.name!r}; "
            "a mapping is renamed by importing a mapping file.",
        )
    documents = _documents(configuration)
    documents[current.name] = document
    mappings = _checked(list(documents.values()), source=f"mapping {current.name}")
    await _save(call, mappings)
    return ApiAnswer(200, _documents(mappings)[current.name])


async def reset_mappings(call: ApiCall) -> ApiAnswer:
    """Go back to the standard mappings."""
    store = (await call.dependencies()).engine.store.mappings
    defaults = await reset_configuration(store, await call.scope())
    return ApiAnswer(200, _list_view(defaults, customized=False))


async def export_mapping_file(call: ApiCall) -> ApiAnswer:
    """The company's mappings as a mapping file."""
    text = export_mappings(await call.configuration())
    filename = f"mappings-{await call.company()}.json"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return ApiAnswer(200, json.loads(text), headers)


async def import_mapping_file(call: ApiCall) -> ApiAnswer:
    """Replace every mapping with those of a mapping file (the body)."""
    document = call.json()
    if not isinstance(document, dict):
        raise ApiError(400, "invalid_request", "The body must be a mapping file (JSON object).")
    text = call.req.get_body().decode("utf-8")  # as sent: import refuses duplicate keys
    mappings = import_mappings(text, source="the mapping file")
    await _save(call, mappings)
    return ApiAnswer(200, _list_view(mappings, customized=True))


def _checked(documents: list[dict[str, Any]], *, source: str) -> MappingSet:
    text = json.dumps({"format": FORMAT, "version": VERSION, "mappings": documents})
    return import_mappings(text, source=source)


async def _save(call: ApiCall, mappings: MappingSet) -> None:
    store = (await call.dependencies()).engine.store.mappings
    await replace_configuration(store, await call.scope(), mappings)


def _documents(configuration: MappingSet) -> dict[str, dict[str, Any]]:
    exported = json.loads(export_mappings(configuration))["mappings"]
    return {document["name"]: document for document in exported}


def _list_view(configuration: MappingSet, *, customized: bool) -> dict[str, Any]:
    summaries = [MappingSummaryView.of(m) for m in configuration.in_dependency_order()]
    return MappingListView(customized=customized, mappings=summaries).to_json()

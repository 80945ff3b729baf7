"""HTTP routes of the mapping configuration: list, read, replace, reset, export and import.

Mappings are read and written in the mapping file's shape (``sync.mappings.mapping_file``), so
what ``GET mappings/{name}`` answers can be edited and sent back with ``PUT``. Every change is
checked like an imported file; a refused one answers 422 listing each problem with its
mapping and field.
"""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

from sync.entrypoints.api_call import ApiAnswer, ApiCall, find_mapping
from sync.entrypoints.api_error import ApiError
from sync.entrypoints.api_handler import handle
from sync.entrypoints.api_views import MappingListView, MappingSummaryView
from sync.mappings import FORMAT, VERSION, export_mappings, import_mappings
from sync.mappings.configuration import replace_configuration, reset_configuration
from sync.models import MappingSet

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves __init__ unannotated


@blueprint.function_name("list_mappings")
@blueprint.route(route="mappings", methods=["GET"])
async def list_mappings(req: func.HttpRequest) -> func.HttpResponse:
    """The company's mappings in run order."""
    return await handle(req, _list_mappings)


@blueprint.function_name("get_mapping")
@blueprint.route(route="mappings/{name}", methods=["GET"])
async def get_mapping(req: func.HttpRequest) -> func.HttpResponse:
    """One mapping, as in a mapping file."""
    return await handle(req, _get_mapping)


@blueprint.function_name("replace_mapping")
@blueprint.route(route="mappings/{name}", methods=["PUT"])
async def replace_mapping(req: func.HttpRequest) -> func.HttpResponse:
    """Replace one mapping; the whole set is checked before it is saved."""
    return await handle(req, _replace_mapping)


@blueprint.function_name("reset_mappings")
@blueprint.route(route="mappings/reset", methods=["POST"])
async def reset_mappings(req: func.HttpRequest) -> func.HttpResponse:
    """Go back to the standard mappings."""
    return await handle(req, _reset_mappings)


@blueprint.function_name("export_mapping_file")
@blueprint.route(route="mappings/export", methods=["GET"])
async def export_mapping_file(req: func.HttpRequest) -> func.HttpResponse:
    """The company's mappings as a mapping file."""
    return await handle(req, _export_mapping_file)


@blueprint.function_name("import_mapping_file")
@blueprint.route(route="mappings/import", methods=["POST"])
async def import_mapping_file(req: func.HttpRequest) -> func.HttpResponse:
    """Replace every mapping with those of a mapping file (the body)."""
    return await handle(req, _import_mapping_file)


async def _list_mappings(call: ApiCall) -> ApiAnswer:
    store = (await call.dependencies()).engine.store.mappings
    saved = await store.load_mappings(await call.scope())
    return ApiAnswer(200, _list_view(await call.configuration(), customized=saved is not None))


async def _get_mapping(call: ApiCall) -> ApiAnswer:
    configuration = await call.configuration()
    mapping = find_mapping(configuration, call.route("name"))
    return ApiAnswer(200, _documents(configuration)[mapping.name])


async def _replace_mapping(call: ApiCall) -> ApiAnswer:
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


async def _reset_mappings(call: ApiCall) -> ApiAnswer:
    store = (await call.dependencies()).engine.store.mappings
    defaults = await reset_configuration(store, await call.scope())
    return ApiAnswer(200, _list_view(defaults, customized=False))


async def _export_mapping_file(call: ApiCall) -> ApiAnswer:
    text = export_mappings(await call.configuration())
    filename = f"mappings-{await call.company()}.json"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return ApiAnswer(200, json.loads(text), headers)


async def _import_mapping_file(call: ApiCall) -> ApiAnswer:
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

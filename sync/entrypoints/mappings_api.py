"""HTTP routes of the mapping configuration: list, read, replace, reset, export and import.

Mappings are read and written in the mapping file's shape (``sync.mappings.mapping_file``), so
what ``GET mappings/{name}`` answers can be edited and sent back with ``PUT``. Every change is
checked like an imported file; a refused one answers 422 listing each problem with its
mapping and field.

This module only registers the routes; ``mappings_handlers`` answers them.
"""

from __future__ import annotations

import azure.functions as func

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves __init__ unannotated


@blueprint.function_name("list_mappings")
@blueprint.route(route="mappings", methods=["GET"])
async def list_mappings(req: func.HttpRequest) -> func.HttpResponse:
    """The company's mappings in run order."""
    # Imported on the first call: pydantic, the settings and the engine behind the
    # handlers would slow every cold start.
    from sync.entrypoints import api_handler, mappings_handlers  # noqa: PLC0415

    return await api_handler.handle(req, mappings_handlers.list_mappings)


@blueprint.function_name("get_mapping")
@blueprint.route(route="mappings/{name}", methods=["GET"])
async def get_mapping(req: func.HttpRequest) -> func.HttpResponse:
    """One mapping, as in a mapping file."""
    from sync.entrypoints import api_handler, mappings_handlers  # noqa: PLC0415

    return await api_handler.handle(req, mappings_handlers.get_mapping)


@blueprint.function_name("replace_mapping")
@blueprint.route(route="mappings/{name}", methods=["PUT"])
async def replace_mapping(req: func.HttpRequest) -> func.HttpResponse:
    """Replace one mapping; the whole set is checked before it is saved."""
    from sync.entrypoints import api_handler, mappings_handlers  # noqa: PLC0415

    return await api_handler.handle(req, mappings_handlers.replace_mapping)


@blueprint.function_name("reset_mappings")
@blueprint.route(route="mappings/reset", methods=["POST"])
async def reset_mappings(req: func.HttpRequest) -> func.HttpResponse:
    """Go back to the standard mappings."""
    from sync.entrypoints import api_handler, mappings_handlers  # noqa: PLC0415

    return await api_handler.handle(req, mappings_handlers.reset_mappings)


@blueprint.function_name("export_mapping_file")
@blueprint.route(route="mappings/export", methods=["GET"])
async def export_mapping_file(req: func.HttpRequest) -> func.HttpResponse:
    """The company's mappings as a mapping file."""
    from sync.entrypoints import api_handler, mappings_handlers  # noqa: PLC0415

    return await api_handler.handle(req, mappings_handlers.export_mapping_file)


@blueprint.function_name("import_mapping_file")
@blueprint.route(route="mappings/import", methods=["POST"])
async def import_mapping_file(req: func.HttpRequest) -> func.HttpResponse:
    """Replace every mapping with those of a mapping file (the body)."""
    from sync.entrypoints import api_handler, mappings_handlers  # noqa: PLC0415

    return await api_handler.handle(req, mappings_handlers.import_mapping_file)

"""HTTP routes of couplings: couple, uncouple, a record's coupling, skipped records, restore.

This module only registers the routes; ``couplings_handlers`` answers them.
"""

from __future__ import annotations

import azure.functions as func

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves __init__ unannotated


@blueprint.function_name("couple_records")
@blueprint.route(route="couplings/{mapping}", methods=["POST"])
async def couple_records(req: func.HttpRequest) -> func.HttpResponse:
    """Couple a BC record with a Dataverse row, then sync the pair."""
    # Imported on the first call: pydantic, the settings and the engine behind the
    # handlers would slow every cold start.
    from sync.entrypoints import api_handler, couplings_handlers  # noqa: PLC0415

    return await api_handler.handle(req, couplings_handlers.couple_records)


@blueprint.function_name("uncouple_records")
@blueprint.route(route="couplings/{mapping}", methods=["DELETE"])
async def uncouple_records(req: func.HttpRequest) -> func.HttpResponse:
    """Remove couplings by BC ids or Dataverse ids; the records stay."""
    from sync.entrypoints import api_handler, couplings_handlers  # noqa: PLC0415

    return await api_handler.handle(req, couplings_handlers.uncouple_records)


@blueprint.function_name("list_couplings")
@blueprint.route(route="couplings/{mapping}", methods=["GET"])
async def list_couplings(req: func.HttpRequest) -> func.HttpResponse:
    """The coupling of one record (``?bcId=`` or ``?dataverseId=``)."""
    from sync.entrypoints import api_handler, couplings_handlers  # noqa: PLC0415

    return await api_handler.handle(req, couplings_handlers.list_couplings)


@blueprint.function_name("list_skipped")
@blueprint.route(route="skipped/{mapping}", methods=["GET"])
async def list_skipped(req: func.HttpRequest) -> func.HttpResponse:
    """Couplings skipped after repeated failures."""
    from sync.entrypoints import api_handler, couplings_handlers  # noqa: PLC0415

    return await api_handler.handle(req, couplings_handlers.list_skipped)


@blueprint.function_name("restore_skipped")
@blueprint.route(route="skipped/{mapping}", methods=["POST"])
async def restore_skipped(req: func.HttpRequest) -> func.HttpResponse:
    """Let skipped records sync again; with ``retry`` sync them now."""
    from sync.entrypoints import api_handler, couplings_handlers  # noqa: PLC0415

    return await api_handler.handle(req, couplings_handlers.restore_skipped)

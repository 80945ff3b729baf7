"""HTTP routes that sync: one record, one mapping, all modified records, a full sync.

One record answers at once (200). The others are long operations: 202 with a status link
(see ``long_run``), or with ``dryRun`` the plan (200). A full sync of mappings with match
fields couples records by their match fields first (match-based coupling).

This module only registers the routes; ``sync_handlers`` answers them.
"""

from __future__ import annotations

import azure.functions as func

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves __init__ unannotated


@blueprint.function_name("sync_one_record")
@blueprint.route(route="sync/{mapping}/records", methods=["POST"])
async def sync_one_record(req: func.HttpRequest) -> func.HttpResponse:
    """Sync one record now, by BC id or Dataverse id."""
    # Imported on the first call: pydantic, the settings and the engine behind the
    # handlers would slow every cold start.
    from sync.entrypoints import api_handler, sync_handlers  # noqa: PLC0415

    return await api_handler.handle(req, sync_handlers.sync_one_record)


@blueprint.function_name("start_mapping_sync")
@blueprint.route(route="sync/{mapping}", methods=["POST"])
async def start_mapping_sync(req: func.HttpRequest) -> func.HttpResponse:
    """Start an incremental sync of one mapping (202), or plan it (dryRun)."""
    from sync.entrypoints import api_handler, sync_handlers  # noqa: PLC0415

    return await api_handler.handle(req, sync_handlers.start_mapping_sync)


@blueprint.function_name("start_modified_sync")
@blueprint.route(route="sync", methods=["POST"])
async def start_modified_sync(req: func.HttpRequest) -> func.HttpResponse:
    """Start syncing all modified records of every mapping, in dependency order (202)."""
    from sync.entrypoints import api_handler, sync_handlers  # noqa: PLC0415

    return await api_handler.handle(req, sync_handlers.start_modified_sync)


@blueprint.function_name("start_full_sync")
@blueprint.route(route="sync/full", methods=["POST"])
async def start_full_sync(req: func.HttpRequest) -> func.HttpResponse:
    """Start a full sync (with match-based coupling) of some or all mappings (202)."""
    from sync.entrypoints import api_handler, sync_handlers  # noqa: PLC0415

    return await api_handler.handle(req, sync_handlers.start_full_sync)

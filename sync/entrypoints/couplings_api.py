"""HTTP routes of couplings: couple, uncouple, a record's coupling, skipped records, restore."""

from __future__ import annotations

import re

import azure.functions as func

from sync.engine.record_operations import RecordOperations
from sync.entrypoints.api_call import ApiAnswer, ApiCall
from sync.entrypoints.api_error import ApiError
from sync.entrypoints.api_handler import handle
from sync.entrypoints.api_requests import (
    GUID_PATTERN,
    CoupleRequest,
    RestoreRequest,
    UncoupleRequest,
)
from sync.entrypoints.api_views import CouplingListView, CouplingView
from sync.entrypoints.long_run import result_answer
from sync.entrypoints.sync_api import dry_run

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # the SDK leaves __init__ unannotated

MAX_LISTED = 1000
"""Skipped couplings one answer lists at most."""


@blueprint.function_name("couple_records")
@blueprint.route(route="couplings/{mapping}", methods=["POST"])
async def couple_records(req: func.HttpRequest) -> func.HttpResponse:
    """Couple a BC record with a Dataverse row, then sync the pair."""
    return await handle(req, _couple_records)


@blueprint.function_name("uncouple_records")
@blueprint.route(route="couplings/{mapping}", methods=["DELETE"])
async def uncouple_records(req: func.HttpRequest) -> func.HttpResponse:
    """Remove couplings by BC ids or Dataverse ids; the records stay."""
    return await handle(req, _uncouple_records)


@blueprint.function_name("list_couplings")
@blueprint.route(route="couplings/{mapping}", methods=["GET"])
async def list_couplings(req: func.HttpRequest) -> func.HttpResponse:
    """The coupling of one record (``?bcId=`` or ``?dataverseId=``)."""
    return await handle(req, _list_couplings)


@blueprint.function_name("list_skipped")
@blueprint.route(route="skipped/{mapping}", methods=["GET"])
async def list_skipped(req: func.HttpRequest) -> func.HttpResponse:
    """Couplings skipped after repeated failures."""
    return await handle(req, _list_skipped)


@blueprint.function_name("restore_skipped")
@blueprint.route(route="skipped/{mapping}", methods=["POST"])
async def restore_skipped(req: func.HttpRequest) -> func.HttpResponse:
    """Let skipped records sync again; with ``retry`` sync them now."""
    return await handle(req, _restore_skipped)


async def _couple_records(call: ApiCall) -> ApiAnswer:
    request = call.body(CoupleRequest)
    mapping = await call.mapping(call.route("mapping"))
    dependencies = await call.dependencies()
    operations = RecordOperations(dependencies.runner(await call.company()).parts)
    result = await operations.couple(
        mapping.name, request.bc_id, request.dataverse_id, dry_run=dry_run(call, request)
    )
    return result_answer(result, dependencies, status=201)


async def _uncouple_records(call: ApiCall) -> ApiAnswer:
    request = call.body(UncoupleRequest)
    mapping = await call.mapping(call.route("mapping"))
    dependencies = await call.dependencies()
    operations = RecordOperations(dependencies.runner(await call.company()).parts)
    result = await operations.uncouple(
        mapping.name, bc_ids=request.bc_ids, dataverse_ids=request.dataverse_ids
    )
    return result_answer(result, dependencies, status=200)


async def _list_couplings(call: ApiCall) -> ApiAnswer:
    bc_id, dataverse_id = _record_query(call)
    mapping = await call.mapping(call.route("mapping"))
    store = (await call.dependencies()).engine.store.couplings
    scope = await call.scope()
    if bc_id is not None:
        coupling = await store.get_by_bc_id(scope, mapping.name, bc_id)
    else:
        coupling = await store.get_by_dataverse_id(scope, mapping.name, str(dataverse_id))
    views = [] if coupling is None else [CouplingView.of(coupling)]
    return ApiAnswer(200, CouplingListView(couplings=views).to_json())


async def _list_skipped(call: ApiCall) -> ApiAnswer:
    mapping = await call.mapping(call.route("mapping"))
    store = (await call.dependencies()).engine.store.couplings
    views: list[CouplingView] = []
    async for coupling in store.load_couplings(await call.scope(), mapping.name, skipped_only=True):
        views.append(CouplingView.of(coupling))
        if len(views) >= MAX_LISTED:
            break
    return ApiAnswer(200, CouplingListView(couplings=views).to_json())


async def _restore_skipped(call: ApiCall) -> ApiAnswer:
    request = call.body(RestoreRequest)
    mapping = await call.mapping(call.route("mapping"))
    dependencies = await call.dependencies()
    operations = RecordOperations(dependencies.runner(await call.company()).parts)
    result = await operations.restore(mapping.name, request.bc_ids, retry=request.retry)
    return result_answer(result, dependencies, status=200)


def _record_query(call: ApiCall) -> tuple[str | None, str | None]:
    bc_id, dataverse_id = call.req.params.get("bcId"), call.req.params.get("dataverseId")
    if (bc_id is None) == (dataverse_id is None):
        raise ApiError(400, "invalid_query", "Give exactly one of ?bcId= and ?dataverseId=.")
    value = bc_id if bc_id is not None else dataverse_id
    if not re.match(GUID_PATTERN, str(value)):
        name = "bcId" if bc_id is not None else "dataverseId"
        raise ApiError(400, "invalid_id", f"{name} must be a GUID", [{"field": name}])
    return (bc_id.lower() if bc_id else None), (dataverse_id.lower() if dataverse_id else None)

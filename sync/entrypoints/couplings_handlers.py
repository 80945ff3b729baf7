"""The answers of the coupling routes (``couplings_api``): couple, uncouple, list, restore.

``couplings_api`` registers the routes and imports this module on their first call, so the
engine, models and settings it needs are not loaded at cold start.
"""

from __future__ import annotations

import re

from sync.engine.record_operations import RecordOperations
from sync.entrypoints.api_call import ApiAnswer, ApiCall
from sync.entrypoints.api_error import ApiError
from sync.entrypoints.api_requests import (
    GUID_PATTERN,
    CoupleRequest,
    RestoreRequest,
    UncoupleRequest,
)
from sync.entrypoints.api_views import CouplingListView, CouplingView
from sync.entrypoints.dependencies import Dependencies
from sync.entrypoints.long_run import result_answer
from sync.entrypoints.sync_handlers import dry_run
from sync.models import TableMapping

MAX_LISTED = 1000
"""Skipped couplings one answer lists at most."""


async def couple_records(call: ApiCall) -> ApiAnswer:
    """Couple a BC record with a Dataverse row, then sync the pair."""
    request = call.body(CoupleRequest)
    mapping, dependencies, operations = await _record_operations(call)
    result = await operations.couple(
        mapping.name, request.bc_id, request.dataverse_id, dry_run=dry_run(call, request)
    )
    return result_answer(result, dependencies, status=201)


async def uncouple_records(call: ApiCall) -> ApiAnswer:
    """Remove couplings by BC ids or Dataverse ids; the records stay."""
    request = call.body(UncoupleRequest)
    mapping, dependencies, operations = await _record_operations(call)
    result = await operations.uncouple(
        mapping.name, bc_ids=request.bc_ids, dataverse_ids=request.dataverse_ids
    )
    return result_answer(result, dependencies, status=200)


async def list_couplings(call: ApiCall) -> ApiAnswer:
    """The coupling of one record (``?bcId=`` or ``?dataverseId=``)."""
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


async def list_skipped(call: ApiCall) -> ApiAnswer:
    """Couplings skipped after repeated failures."""
    mapping = await call.mapping(call.route("mapping"))
    store = (await call.dependencies()).engine.store.couplings
    views: list[CouplingView] = []
    async for coupling in store.load_couplings(await call.scope(), mapping.name, skipped_only=True):
        views.append(CouplingView.of(coupling))
        if len(views) >= MAX_LISTED:
            break
    return ApiAnswer(200, CouplingListView(couplings=views).to_json())


async def restore_skipped(call: ApiCall) -> ApiAnswer:
    """Let skipped records sync again; with ``retry`` sync them now."""
    request = call.body(RestoreRequest)
    mapping, dependencies, operations = await _record_operations(call)
    result = await operations.restore(mapping.name, request.bc_ids, retry=request.retry)
    return result_answer(result, dependencies, status=200)


async def _record_operations(
    call: ApiCall,
) -> tuple[TableMapping, Dependencies, RecordOperations]:
    mapping = await call.mapping(call.route("mapping"))
    dependencies = await call.dependencies()
    return mapping, dependencies, RecordOperations(dependencies.runner(await call.company()).parts)


def _record_query(call: ApiCall) -> tuple[str | None, str | None]:
    bc_id, dataverse_id = call.req.params.get("bcId"), call.req.params.get("dataverseId")
    if (bc_id is None) == (dataverse_id is None):
        raise ApiError(400, "invalid_query", "Give exactly one of ?bcId= and ?dataverseId=.")
    value = bc_id if bc_id is not None else dataverse_id
    if not re.match(GUID_PATTERN, str(value)):
        name = "bcId" if bc_id is not None else "dataverseId"
        raise ApiError(400, "invalid_id", f"{name} must be a GUID", [{"field": name}])
    return (bc_id.lower() if bc_id else None), (dataverse_id.lower() if dataverse_id else None)

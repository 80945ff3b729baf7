"""The answers of the sync routes (``sync_api``): one record, one mapping, modified, full.

``sync_api`` registers the routes and imports this module on their first call, so the engine,
models and settings it needs are not loaded at cold start.
"""

from __future__ import annotations

from sync.engine.record_operations import RecordOperations
from sync.entrypoints.api_call import ApiAnswer, ApiCall
from sync.entrypoints.api_error import ApiError
from sync.entrypoints.api_requests import DryRunRequest, FullSyncRequest, RecordRequest
from sync.entrypoints.long_run import plan_run, result_answer, start_long_run
from sync.models import RunMode, Side, TableMapping


async def sync_one_record(call: ApiCall) -> ApiAnswer:
    """Sync one record now, by BC id or Dataverse id."""
    request = call.body(RecordRequest)
    mapping = _syncable(await call.mapping(call.route("mapping")))
    side, record_id = (
        (Side.BC, request.bc_id) if request.bc_id else (Side.DATAVERSE, request.dataverse_id)
    )
    dependencies = await call.dependencies()
    operations = RecordOperations(dependencies.runner(await call.company()).parts)
    result = await operations.sync_record(
        mapping.name, side, str(record_id), dry_run=dry_run(call, request)
    )
    return result_answer(result, dependencies, status=200)


async def start_mapping_sync(call: ApiCall) -> ApiAnswer:
    """Start an incremental sync of one mapping (202), or plan it (dryRun)."""
    request = call.body(DryRunRequest)
    mapping = _syncable(await call.mapping(call.route("mapping")))
    if dry_run(call, request):
        return await plan_run(call, RunMode.MAPPING, [mapping.name])
    return await start_long_run(call, RunMode.MAPPING, [mapping])


async def start_modified_sync(call: ApiCall) -> ApiAnswer:
    """Start syncing all modified records of every mapping, in dependency order (202)."""
    request = call.body(DryRunRequest)
    if dry_run(call, request):
        return await plan_run(call, RunMode.MODIFIED, None)
    await call.company()  # a wrong company is refused now, not by the worker
    return await start_long_run(call, RunMode.MODIFIED, None)


async def start_full_sync(call: ApiCall) -> ApiAnswer:
    """Start a full sync (with match-based coupling) of some or all mappings (202)."""
    request = call.body(FullSyncRequest)
    configuration = await call.configuration()
    if request.mappings is None:
        ordered = [m for m in configuration.in_dependency_order() if m.enabled and not m.is_option]
    else:
        named = {(await call.mapping(name)).name for name in request.mappings}
        ordered = [_syncable(m) for m in configuration.in_dependency_order() if m.name in named]
    if not ordered:
        raise ApiError(422, "nothing_to_sync", "No enabled mapping to sync.")
    if dry_run(call, request):
        return await plan_run(call, RunMode.FULL, [m.name for m in ordered])
    return await start_long_run(call, RunMode.FULL, ordered)


def dry_run(call: ApiCall, request: DryRunRequest) -> bool:
    """``dryRun`` from the query (wins) or the body."""
    flag = call.flag("dryRun")
    return request.dry_run if flag is None else flag


def _syncable(mapping: TableMapping) -> TableMapping:
    if mapping.is_option:
        raise ApiError(
            422,
            "option_mapping",
            f"{mapping.name} maps codes to a choice column; couple its values with "
            "couplings/{mapping} instead (option mappings have no record sync in this release).",
        )
    if not mapping.enabled:
        raise ApiError(
            422, "mapping_disabled", f"{mapping.name} is disabled; enable it with PUT first."
        )
    return mapping

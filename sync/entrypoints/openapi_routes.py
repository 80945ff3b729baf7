"""Every HTTP route of the app, described for the OpenAPI document (one entry per function).

``operation_id`` is the function's name in PascalCase (Power Automate shows it as the action's
id); a test checks that every HTTP function appears here with its route and method.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from sync.entrypoints.api_requests import (
    CoupleRequest,
    DryRunRequest,
    FullSyncRequest,
    RecordRequest,
    RestoreRequest,
    UncoupleRequest,
)
from sync.entrypoints.api_views import (
    AcceptedView,
    CouplingListView,
    HealthView,
    MappingListView,
    RunErrorsView,
    RunListView,
    RunResultView,
    RunView,
)

MAPPING_DOCUMENT = "MappingDocument"
MAPPING_FILE = "MappingFile"
OPENAPI_DOCUMENT = "OpenApiDocument"
Payload = type[BaseModel] | str
"""A pydantic model, or the name of a free-form definition above."""


@dataclass(frozen=True)
class Parameter:
    """A path, query or header parameter."""

    name: str
    where: str
    description: str
    required: bool = False
    kind: str = "string"
    pattern: str | None = None


@dataclass(frozen=True)
class Route:
    """One operation: a function's route and method, what it takes and answers."""

    function: str
    method: str
    path: str
    summary: str
    description: str
    parameters: tuple[Parameter, ...] = ()
    body: Payload | None = None
    ok: tuple[int, Payload | None] = (200, None)
    long_running: bool = False
    anonymous: bool = False
    errors: tuple[int, ...] = field(default=(400, 404, 422))


def _path(name: str, description: str) -> Parameter:
    return Parameter(name, "path", description, required=True)


MAPPING = _path("mapping", "Mapping name, e.g. CUSTOMER or PAYMENT_TERMS")
NAME = _path("name", "Mapping name, e.g. CUSTOMER")
RUN_ID = _path("id", "Run id")
DRY_RUN = Parameter("dryRun", "query", "Plan only: nothing is written", kind="boolean")
LIMIT = Parameter("limit", "query", "How many runs (1-200, default 50)", kind="integer")
BC_ID = Parameter("bcId", "query", "BC record id (GUID)")
DATAVERSE_ID = Parameter("dataverseId", "query", "Dataverse row id (GUID)")
EXP = Parameter("exp", "query", "Expiry of the link (set by the app)", required=True)
SIG = Parameter("sig", "query", "Signature of the link (set by the app)", required=True)

ROUTES: tuple[Route, ...] = (
    Route("list_mappings", "get", "/mappings", "List mappings",
          "The company's mappings in run order, with their timer functions.",
          ok=(200, MappingListView), errors=(400, 404)),
    Route("get_mapping", "get", "/mappings/{name}", "Get a mapping",
          "One mapping as in a mapping file; edit it and send it back with PUT.",
          (NAME,), ok=(200, MAPPING_DOCUMENT), errors=(400, 404)),
    Route("replace_mapping", "put", "/mappings/{name}", "Replace a mapping",
          "Replace one mapping. The whole set is checked first; problems answer 422 with "
          "the mapping and field of each.", (NAME,), body=MAPPING_DOCUMENT,
          ok=(200, MAPPING_DOCUMENT)),
    Route("reset_mappings", "post", "/mappings/reset", "Reset mappings to defaults",
          "Forget the company's saved mappings; the standard set applies again.",
          ok=(200, MappingListView), errors=(400, 404)),
    Route("export_mapping_file", "get", "/mappings/export", "Export the mapping file",
          "The company's mappings as a mapping file.", ok=(200, MAPPING_FILE), errors=(400, 404)),
    Route("import_mapping_file", "post", "/mappings/import", "Import a mapping file",
          "Replace every mapping with those of the file; refused whole (422) when unsound.",
          body=MAPPING_FILE, ok=(200, MappingListView)),
    Route("sync_one_record", "post", "/sync/{mapping}/records", "Sync one record",
          "Sync one record now, given its BC id or Dataverse id: creates its counterpart or "
          "merges the pair. With dryRun, answers the plan.", (MAPPING, DRY_RUN),
          body=RecordRequest, ok=(200, RunResultView), errors=(400, 404, 409, 422)),
    Route("start_mapping_sync", "post", "/sync/{mapping}", "Sync one mapping",
          "Start an incremental sync of one mapping. Answers 202 with a status link to poll; "
          "with dryRun, answers the plan (200).", (MAPPING, DRY_RUN), body=DryRunRequest,
          ok=(202, AcceptedView), long_running=True, errors=(400, 404, 409, 422)),
    Route("start_modified_sync", "post", "/sync", "Sync all modified records",
          "Start syncing the records modified since the last run, for every mapping in "
          "dependency order. Answers 202 with a status link; with dryRun, the plan.",
          (DRY_RUN,), body=DryRunRequest, ok=(202, AcceptedView), long_running=True),
    Route("start_full_sync", "post", "/sync/full", "Full sync and match-based coupling",
          "Start a full sync of the given mappings (all when left out): every record is "
          "read; uncoupled records of mappings with match fields are coupled to their match "
          "(match-based coupling), the others are created. Large tables are split into "
          "work items. Answers 202 with a status link; with dryRun, the plan.", (DRY_RUN,),
          body=FullSyncRequest, ok=(202, AcceptedView), long_running=True,
          errors=(400, 404, 409, 422)),
    Route("couple_records", "post", "/couplings/{mapping}", "Couple two records",
          "Couple a BC record with a Dataverse row, then sync the pair.", (MAPPING, DRY_RUN),
          body=CoupleRequest, ok=(201, RunResultView), errors=(400, 404, 409, 422)),
    Route("uncouple_records", "delete", "/couplings/{mapping}", "Uncouple records",
          "Remove the couplings of the given records; the records stay as they are.",
          (MAPPING,), body=UncoupleRequest, ok=(200, RunResultView)),
    Route("list_couplings", "get", "/couplings/{mapping}", "Get a record's coupling",
          "The coupling of one record, by bcId or dataverseId (an empty list when none).",
          (MAPPING, BC_ID, DATAVERSE_ID), ok=(200, CouplingListView), errors=(400, 404)),
    Route("list_skipped", "get", "/skipped/{mapping}", "List skipped records",
          "Couplings skipped after repeated failures.", (MAPPING,),
          ok=(200, CouplingListView), errors=(400, 404)),
    Route("restore_skipped", "post", "/skipped/{mapping}", "Restore skipped records",
          "Let skipped records sync again; with retry, sync each now.", (MAPPING,),
          body=RestoreRequest, ok=(200, RunResultView), errors=(400, 404, 409, 422)),
    Route("list_runs", "get", "/runs", "List runs", "The latest runs, newest first.",
          (LIMIT,), ok=(200, RunListView), errors=(400, 404)),
    Route("get_run", "get", "/runs/{id}", "Get a run", "One run with its counters.",
          (RUN_ID,), ok=(200, RunView), errors=(400, 404)),
    Route("list_run_errors", "get", "/runs/{id}/errors", "List a run's errors",
          "Why records did not sync in one run.", (RUN_ID,), ok=(200, RunErrorsView),
          errors=(400, 404)),
    Route("get_run_status", "get", "/runs/{id}/status", "Poll a long operation",
          "The Location of a 202 answer: 202 while the run runs, 200 with the run when it "
          "finished. Signed: works without the function key; 403 for a bad signature, 401 "
          "once expired.", (RUN_ID, EXP, SIG), ok=(200, RunView), anonymous=True,
          errors=(400, 401, 403, 404)),
    Route("health", "get", "/health", "Health",
          "Whether the app is up and reaches its store, BC and Dataverse.",
          ok=(200, HealthView), anonymous=True, errors=()),
    Route("openapi_document", "get", "/openapi.json", "OpenAPI document",
          "This document (Swagger 2.0), for importing a custom connector.",
          ok=(200, OPENAPI_DOCUMENT), anonymous=True, errors=()),
)  # fmt: skip

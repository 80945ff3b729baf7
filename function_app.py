"""The Azure Functions app: creates the FunctionApp and registers the blueprints.

Nothing runs at import: no settings are read, no network or file is touched. The host imports
this module on every cold start, so the blueprint modules hold only their triggers: each
trigger imports the code that answers it (models, settings, engine) on its first call and gets
the engine from ``sync.entrypoints.dependencies``. A test keeps pydantic, the settings and the
engine out of this import.
"""

from __future__ import annotations

import azure.functions as func

from sync.entrypoints import (
    couplings_api,
    health,
    mappings_api,
    openapi,
    runs_api,
    sync_api,
    timers,
    worker,
)

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
for module in (health, openapi, mappings_api, sync_api, couplings_api, runs_api, worker, timers):
    app.register_functions(module.blueprint)

"""The Azure Functions app: creates the FunctionApp and registers the blueprints.

Nothing runs at import: no settings are read, no network or file is touched. Each trigger reads
the cached settings and builds what it needs on its first call.
"""

from __future__ import annotations

import azure.functions as func

from sync.entrypoints.health import blueprint as health_blueprint

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(health_blueprint)

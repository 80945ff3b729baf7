"""Emulator of the Dataverse Web API v9.2, faithful where the sync engine depends on it.

`create_app()` returns a Starlette app serving `/api/data/v9.2/` (rows, paging, change
tracking, `$batch`, bulk messages, `EntityDefinitions`, `WhoAmI`) and the control plane under
`/_sandbox/dataverse/`; `app.state.dataverse` is the `DataverseSandbox` tests drive in-process.
"""

from __future__ import annotations

from sandbox.dataverse.app import create_app
from sandbox.dataverse.control import DataverseSandbox
from sandbox.dataverse.options import SandboxOptions

__all__ = ["DataverseSandbox", "SandboxOptions", "create_app"]

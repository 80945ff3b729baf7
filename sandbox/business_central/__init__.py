"""Emulator of the Business Central API v2.0 (companies, customers, vendors, contacts, ...).

Use `create_app()` for an ASGI app (in-process through httpx's ASGITransport, or uvicorn on
loopback); `app.state.bc` is the BusinessCentralService holding the data.
"""

from __future__ import annotations

from sandbox.business_central.app import create_app
from sandbox.business_central.config import EmulatorConfig
from sandbox.business_central.service import BusinessCentralService

__all__ = ["BusinessCentralService", "EmulatorConfig", "create_app"]

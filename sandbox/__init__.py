"""Local emulators of the Business Central API v2.0 and the Dataverse Web API.

`sandbox.server.build_apps` composes the two emulator apps with the shared middlewares (request
counters, service protection, fault injection, latency, bearer auth) and a fake token endpoint;
`python -m sandbox serve` runs them on loopback. Paths under `/_sandbox/` are the control plane:
no middleware throttles, delays, breaks or authenticates them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from starlette.types import Scope

CONTROL_PLANE_PREFIX: Final = "/_sandbox"

Clock = Callable[[], float]
"""Seconds from an arbitrary origin (`time.monotonic` in production, a fake in tests)."""

Sleep = Callable[[float], Awaitable[None]]
"""Waits the given number of seconds (`asyncio.sleep` in production, a fake in tests)."""


def is_control_plane(scope: Scope) -> bool:
    """Return True for requests to the sandbox's own control endpoints (`/_sandbox/...`)."""
    path: str = scope.get("path", "")
    return path == CONTROL_PLANE_PREFIX or path.startswith(CONTROL_PLANE_PREFIX + "/")

"""`python -m sandbox serve` in a subprocess: start it on free ports, read its URLs, stop it.

The sandbox prints one `name: value` line per URL and then `ready (Ctrl-C stops)`; this module
waits for that line, so the servers accept connections once `start_sandbox` returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from bench.costs import ModelledCosts

READY_LINE: Final = "ready"
_START_TIMEOUT_SECONDS: Final = 60.0
_STOP_TIMEOUT_SECONDS: Final = 15.0
_REPO_ROOT: Final = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class SandboxUrls:
    """Where a served sandbox answers.

    Attributes:
        business_central: the BC API v2.0 root (`.../v2.0/<tenant>/<environment>/api/v2.0`).
        dataverse: the Dataverse Web API root (`.../api/data/v9.2`).
        token_authority: the fake Entra authority (`.../<tenant>`).
        client_id: the client the sandbox knows.
    """

    business_central: str
    dataverse: str
    token_authority: str
    client_id: str

    @property
    def business_central_host(self) -> str:
        """`http://127.0.0.1:<port>`, where the BC control plane lives too."""
        return self.business_central.split("/v2.0/", 1)[0]

    @property
    def dataverse_host(self) -> str:
        """`http://127.0.0.1:<port>`, the Dataverse environment URL."""
        return self.dataverse.split("/api/data/", 1)[0]

    @property
    def tenant_id(self) -> str:
        """The tenant segment of the BC URLs."""
        return self.business_central.split("/v2.0/", 1)[1].split("/", 1)[0]

    @property
    def environment(self) -> str:
        """The BC environment name."""
        return self.business_central.split("/v2.0/", 1)[1].split("/", 2)[1]


@contextlib.asynccontextmanager
async def start_sandbox(costs: ModelledCosts) -> AsyncIterator[SandboxUrls]:
    """Serve both emulators and the token endpoint in a child process until the block ends.

    Args:
        costs: the modelled costs and limits to serve with.

    Yields:
        The URLs the sandbox printed.

    Raises:
        RuntimeError: the sandbox exited or stayed silent before it was ready.
    """
    # Errors go to a file: a pipe nobody reads while the bench runs could fill and stall it.
    with tempfile.TemporaryFile() as errors:
        async with _serving(costs, errors) as urls:
            yield urls


@contextlib.asynccontextmanager
async def _serving(costs: ModelledCosts, errors: IO[bytes]) -> AsyncIterator[SandboxUrls]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox",
        "serve",
        "--bc-port=0",
        "--dataverse-port=0",
        "--token-port=0",
        "--records=0",
        *costs.serve_arguments(),
        cwd=_REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=errors,
    )
    try:
        printed = await asyncio.wait_for(_read_until_ready(process, errors), _START_TIMEOUT_SECONDS)
        yield _urls_from(printed)
    finally:
        await _stop(process)


async def _read_until_ready(
    process: asyncio.subprocess.Process, errors: IO[bytes]
) -> dict[str, str]:
    assert process.stdout is not None  # noqa: S101 - piped above
    printed: dict[str, str] = {}
    while True:
        line = (await process.stdout.readline()).decode()
        if not line:
            await process.wait()
            errors.seek(0)
            tail = errors.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"the sandbox exited before it was ready: {tail}")
        if line.startswith(READY_LINE):
            return printed
        name, _, value = line.partition(": ")
        printed[name.strip()] = value.strip()


def _urls_from(printed: dict[str, str]) -> SandboxUrls:
    return SandboxUrls(
        business_central=printed["business_central"],
        dataverse=printed["dataverse"],
        token_authority=printed["token_authority"],
        client_id=printed["client_id"],
    )


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.communicate(), _STOP_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()

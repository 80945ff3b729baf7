from __future__ import annotations

import asyncio
import importlib
import os
import signal
import ssl
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
FREE_PORTS = ("--bc-port", "0", "--dataverse-port", "0", "--token-port", "0")

# Runs the real CLI with stand-ins for the two emulator packages, so that the CLI itself
# (arguments, free ports, printed URLs, clean stop) is tested whatever state they are in.
WITH_STUB_EMULATORS = """
import sys, types
from starlette.responses import JSONResponse

def create_app(**_settings):
    async def app(scope, receive, send):
        if scope["type"] == "http":
            await JSONResponse({"path": scope["path"]})(scope, receive, send)
    return app

for name in ("sandbox.business_central", "sandbox.dataverse"):
    stub = types.ModuleType(name)
    stub.create_app = create_app
    sys.modules[name] = stub

from sandbox.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def emulators_missing() -> str | None:
    for name in ("sandbox.business_central", "sandbox.dataverse"):
        try:
            importlib.import_module(name).create_app  # noqa: B018
        except (ImportError, AttributeError) as error:
            return f"{name}.create_app is not importable yet ({error})"
    return None


@asynccontextmanager
async def serving(command: Sequence[str]) -> AsyncIterator[dict[str, str]]:
    """Start the CLI, yield its printed `name: value` lines, then stop it with Ctrl-C."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *command,
        cwd=REPOSITORY,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=os.environ | {"PYTHONPATH": str(REPOSITORY)},
    )
    printed: dict[str, str] = {}
    try:
        async with asyncio.timeout(15):
            while not (line := (await process.stdout.readline()).decode()).startswith("ready"):
                if not line:
                    raise AssertionError((await process.stderr.read()).decode())
                name, _, value = line.partition(": ")
                printed[name] = value.strip()
        yield printed
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            rest, errors = await process.communicate()
    assert process.returncode == 0, errors.decode()
    assert rest.decode().strip().endswith("sandbox stopped")


async def token_for(client: httpx.AsyncClient, authority: str, scope: str) -> dict[str, str]:
    response = await client.post(
        f"{authority}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
            "scope": scope,
        },
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_cli_prints_loopback_urls_and_stops_on_ctrl_c_when_ports_are_zero():
    command = ["-c", WITH_STUB_EMULATORS, "serve", *FREE_PORTS, "--dop-hint", "3", "--token-tls"]
    async with serving(command) as urls:
        trusted = ssl.create_default_context(cafile=urls["tls_ca"])
        async with httpx.AsyncClient(verify=trusted) as client:
            headers = await token_for(
                client, urls["token_authority"], urls["business_central_scope"]
            )
            business_central = await client.get(
                f"{urls['business_central']}/companies", headers=headers
            )
            dataverse = await client.get(f"{urls['dataverse']}/accounts")

    assert urls["token_authority"].startswith("https://127.0.0.1:")
    assert urls["business_central"].startswith("http://127.0.0.1:")
    assert urls["business_central"].endswith("/production/api/v2.0")
    assert ":0/" not in urls["dataverse"]
    assert business_central.status_code == 200
    assert dataverse.status_code == 401
    assert dataverse.headers["x-ms-dop-hint"] == "3"


async def test_cli_refuses_invalid_settings_when_fault_rates_exceed_one():
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox",
        "serve",
        "--error-rate",
        "0.8",
        "--drop-rate",
        "0.8",
        cwd=REPOSITORY,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(10):
        _, errors = await process.communicate()

    assert process.returncode == 2
    assert "must not exceed 1" in errors.decode()


@pytest.mark.skipif(emulators_missing() is not None, reason=str(emulators_missing()))
async def test_cli_serves_both_emulators_on_loopback_when_started_as_module():
    command = ["-m", "sandbox", "serve", *FREE_PORTS, "--records", "3"]
    async with serving(command) as urls, httpx.AsyncClient() as client:
        bc_headers = await token_for(
            client, urls["token_authority"], urls["business_central_scope"]
        )
        dv_headers = await token_for(client, urls["token_authority"], urls["dataverse_scope"])
        companies = await client.get(f"{urls['business_central']}/companies", headers=bc_headers)
        accounts = await client.get(f"{urls['dataverse']}/accounts?$top=1", headers=dv_headers)
        counters = await client.get(urls["counters"].split()[0])

    assert companies.status_code == 200
    assert companies.json()["value"]
    assert accounts.status_code == 200
    assert "x-ms-dop-hint" in accounts.headers
    assert counters.json()["total"] >= 1

"""Measure paged read throughput of the Dataverse emulator, in-process.

Run::

    .venv/bin/python -m sandbox.dataverse.measure --records 100000 --page-size 5000

It seeds the accounts, then follows `@odata.nextLink` through every page with an
`httpx.AsyncClient` on the ASGI transport (no network), once with all columns and once with a
`$select`, and prints rows per second. The engine needs well over 2,000 rows/s from the
emulator so that benchmarks measure the engine, not the stand-in.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from sandbox.dataverse.app import create_app

_SELECT = "name,accountnumber,telephone1,address1_city,_primarycontactid_value,modifiedon"


async def _walk(client: httpx.AsyncClient, url: str, page_size: int) -> int:
    headers = {"Prefer": f"odata.maxpagesize={page_size}"}
    rows = 0
    next_url: str | None = url
    while next_url:
        response = await client.get(next_url, headers=headers)
        response.raise_for_status()
        body = response.json()
        rows += len(body["value"])
        next_url = body.get("@odata.nextLink")
    return rows


async def measure(records: int, page_size: int) -> None:
    """Seed `records` accounts and print the read throughput of a full paged walk."""
    started = time.perf_counter()
    app = create_app(records=0)
    app.state.dataverse.seed("accounts", records)
    print(f"seeded {records} accounts in {time.perf_counter() - started:.1f} s")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://dataverse.test", timeout=60.0
    ) as client:
        for label, url in (
            ("all columns", "/api/data/v9.2/accounts"),
            ("$select 6 columns", f"/api/data/v9.2/accounts?$select={_SELECT}"),
        ):
            started = time.perf_counter()
            rows = await _walk(client, url, page_size)
            elapsed = time.perf_counter() - started
            print(f"{label:>18}: {rows} rows in {elapsed:.2f} s = {rows / elapsed:,.0f} rows/s")


def main() -> None:
    """Parse the command line and run the measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=5000)
    arguments = parser.parse_args()
    asyncio.run(measure(arguments.records, arguments.page_size))


if __name__ == "__main__":
    main()

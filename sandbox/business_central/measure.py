"""Measure paged-read throughput of the BC emulator in-process (not a test: it takes seconds).

Run: `.venv/bin/python -m sandbox.business_central.measure --rows 100000`

It seeds one company with N customers, then walks `@odata.nextLink` through httpx's
ASGITransport at several page sizes, with and without a `$filter`, and prints records per second.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from sandbox.business_central import create_app

_BASE = "http://bc.test/v2.0/tenant/production/api/v2.0"
_SINCE_2000 = "lastModifiedDateTime ge 2000-01-01T00:00:00Z"


async def read_all(client: httpx.AsyncClient, url: str, page_size: int) -> int:
    """Follow nextLinks from `url` and return how many rows came back."""
    headers = {"Prefer": f"odata.maxpagesize={page_size}"}
    total = 0
    next_url: str | None = url
    while next_url is not None:
        response = await client.get(next_url, headers=headers)
        response.raise_for_status()
        page = response.json()
        total += len(page["value"])
        next_url = page.get("@odata.nextLink")
    return total


async def measure(rows: int) -> None:
    """Seed `rows` customers and print the read throughput of several query shapes."""
    started = time.perf_counter()
    app = create_app(records=0)
    service = app.state.bc
    company_id = service.company_ids()[0]
    service.seed(company_id, "customers", rows)
    print(f"seeded {rows} customers in {time.perf_counter() - started:.1f} s")
    collection = f"{_BASE}/companies({company_id})/customers"
    shapes = [
        ("all rows", collection, 20_000),
        ("all rows", collection, 1_000),
        ("$filter lastModifiedDateTime", f"{collection}?$filter={_SINCE_2000}", 5_000),
        ("$select id,number,displayName", f"{collection}?$select=id,number,displayName", 5_000),
        ("$orderby displayName desc", f"{collection}?$orderby=displayName desc", 5_000),
    ]  # fmt: skip
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bc.test") as client:
        for label, url, page_size in shapes:
            began = time.perf_counter()
            count = await read_all(client, url, page_size)
            seconds = time.perf_counter() - began
            print(
                f"{label:32} page {page_size:>6}: {count} rows in {seconds:.2f} s = "
                f"{count / seconds:,.0f} records/s"
            )


def main() -> None:
    """Parse the command line and run the measurement."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    asyncio.run(measure(parser.parse_args().rows))


if __name__ == "__main__":
    main()

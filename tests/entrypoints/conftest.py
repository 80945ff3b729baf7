"""The app's functions, indexed once per session, and the app over the sandbox per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

import function_app
from tests.entrypoints.harness import App, close_app, open_app


@pytest.fixture(scope="session")
def functions() -> dict[str, Any]:
    # get_functions() may run once per app object: it records the names it has seen.
    return {f.get_function_name(): f for f in function_app.app.get_functions()}


@pytest.fixture
async def app(functions) -> AsyncIterator[App]:
    opened = await open_app(functions)
    try:
        yield opened
    finally:
        await close_app(opened)

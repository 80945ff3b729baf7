from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import azure.functions as func
import pytest

from sync.entrypoints.bindings import DEFAULT_SCHEDULE, PURGE_SCHEDULE
from sync.entrypoints.dependencies import use_dependencies
from sync.entrypoints.openapi_routes import ROUTES
from sync.mappings import standard_mappings
from sync.settings import get_settings

ROUTES_BY_FUNCTION = {route.function: route for route in ROUTES}
TIMERS = {
    "sync_salespeople": "%SYNC_SCHEDULE_SALESPEOPLE%",
    "sync_currency": "%SYNC_SCHEDULE_CURRENCY%",
    "sync_payment_terms": "%SYNC_SCHEDULE_PAYMENT_TERMS%",
    "sync_shipment_method": "%SYNC_SCHEDULE_SHIPMENT_METHOD%",
    "sync_shipping_agent": "%SYNC_SCHEDULE_SHIPPING_AGENT%",
    "sync_customer": "%SYNC_SCHEDULE_CUSTOMER%",
    "sync_vendor": "%SYNC_SCHEDULE_VENDOR%",
    "sync_contact": "%SYNC_SCHEDULE_CONTACT%",
    "purge_expired_keys": PURGE_SCHEDULE,
}
QUEUES = {"process_work": "sync-work", "process_failed_work": "sync-work-poison"}


def _bindings(function):
    return json.loads(function.get_function_json())["bindings"]


def test_app_registers_exactly_the_expected_functions_when_imported(functions):
    assert set(functions) == set(ROUTES_BY_FUNCTION) | set(TIMERS) | set(QUEUES)


@pytest.mark.parametrize("name", sorted(ROUTES_BY_FUNCTION))
def test_http_function_binds_route_method_and_auth_when_indexed(functions, name):
    route = ROUTES_BY_FUNCTION[name]
    trigger, output = _bindings(functions[name])
    assert trigger["type"] == "httpTrigger"
    assert "/" + trigger["route"] == route.path
    assert trigger["methods"] == [route.method.upper()]
    assert trigger["authLevel"] == ("ANONYMOUS" if route.anonymous else "FUNCTION")
    assert output == {"type": "http", "direction": "OUT", "name": "$return"}


@pytest.mark.parametrize(("name", "schedule"), sorted(TIMERS.items()))
def test_timer_function_reads_schedule_setting_and_uses_monitor_when_indexed(
    functions, name, schedule
):
    (trigger,) = _bindings(functions[name])
    assert trigger["type"] == "timerTrigger"
    assert trigger["schedule"] == schedule
    assert trigger["useMonitor"] is True
    assert trigger["runOnStartup"] is False


def test_every_standard_mapping_has_a_timer_when_indexed(functions):
    names = {m.name.lower().replace(" ", "_") for m in standard_mappings().mappings}
    assert {f"sync_{n}" for n in names} == set(TIMERS) - {"purge_expired_keys"}
    assert DEFAULT_SCHEDULE == "0 */30 * * * *"


@pytest.mark.parametrize(("name", "queue"), sorted(QUEUES.items()))
def test_queue_function_listens_on_work_queue_with_host_storage_when_indexed(
    functions, name, queue
):
    (trigger,) = _bindings(functions[name])
    assert trigger["type"] == "queueTrigger"
    assert trigger["queueName"] == queue
    assert trigger["connection"] == "AzureWebJobsStorage"


@pytest.mark.parametrize("name", sorted(set(ROUTES_BY_FUNCTION) | set(TIMERS) | set(QUEUES)))
def test_parameter_names_match_bindings_when_indexed(functions, name):
    """The worker passes bindings by name; a mismatch fails only in Azure (worker #1866)."""
    user_function = functions[name].get_user_function()
    parameters = set(inspect.signature(user_function).parameters)
    bound = {b["name"] for b in _bindings(functions[name]) if b["name"] != "$return"}
    assert parameters == bound
    assert user_function.__name__ == name  # function names are the def names
    assert inspect.iscoroutinefunction(user_function)


async def test_health_answers_ok_with_checks_when_dependencies_answer(app):
    request = func.HttpRequest(method="GET", url="http://localhost/api/health", body=b"")
    response = await app.functions["health"].get_user_function()(request)
    body = json.loads(response.get_body())
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"store", "businessCentral", "dataverse"}
    assert all(check["status"] == "ok" for check in body["checks"].values())


async def test_health_says_degraded_without_secrets_when_settings_are_missing(
    functions, monkeypatch
):
    monkeypatch.setenv("SYNC_CREDENTIALS__CLIENT_SECRET", "do-not-show-me")
    get_settings.cache_clear()
    use_dependencies(None)
    try:
        request = func.HttpRequest(method="GET", url="http://localhost/api/health", body=b"")
        response = await functions["health"].get_user_function()(request)
    finally:
        get_settings.cache_clear()
    assert response.status_code == 200
    assert json.loads(response.get_body())["status"] == "degraded"
    assert b"do-not-show-me" not in response.get_body()


def test_import_reads_no_settings_when_environment_is_broken():
    """Importing the app with broken settings must still work: triggers read them lazily."""
    env = {"SYNC_LIMITS__BC_PAGE_SIZE": "not a number", "PATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", "import function_app"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


HEAVY_AT_IMPORT = (
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "httpx",
    "msal",
    "azure.core",
    "azure.data",
    "azure.identity",
    "azure.storage",
    "sync.bootstrap",
    "sync.connectors",
    "sync.engine",
    "sync.mappings",
    "sync.models",
    "sync.settings",
    "sync.store",
    "sync.entrypoints.dependencies",
)
"""Packages a cold start must not load: each trigger imports what it needs on its first call."""


def test_import_loads_no_models_settings_or_engine_when_fresh():
    """A fresh host process pays only for azure.functions and the trigger registrations."""
    result = subprocess.run(
        [sys.executable, "-c", "import function_app, sys; print(' '.join(sorted(sys.modules)))"],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = result.stdout.split()
    assert "function_app" in loaded
    heavy = [m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY_AT_IMPORT)]
    assert heavy == []

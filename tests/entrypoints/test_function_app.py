from __future__ import annotations

import json
import subprocess
import sys

import azure.functions as func
import pytest

import function_app


@pytest.fixture(scope="module")
def functions():
    # get_functions() may run once per app object: it records the names it has seen.
    return {f.get_function_name(): f for f in function_app.app.get_functions()}


def test_health_is_registered_anonymous_when_app_is_imported(functions):
    binding = json.loads(functions["health"].get_function_json())["bindings"][0]
    assert binding["route"] == "health"
    assert binding["authLevel"] == "ANONYMOUS"
    assert binding["methods"] == ["GET"]


async def test_health_answers_ok_with_version_when_called(functions):
    request = func.HttpRequest(method="GET", url="http://localhost/api/health", body=b"")
    response = await functions["health"].get_user_function()(request)
    assert response.status_code == 200
    assert json.loads(response.get_body())["status"] == "ok"


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

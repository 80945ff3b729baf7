from __future__ import annotations

import json
import re

import pytest

from sandbox.errors import SERVICE_UNAVAILABLE, bc_error, dataverse_error, service_error

GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.mark.parametrize(
    "message",
    ["Bad Request - Error in query syntax.", "Bad Request - Error in query syntax"],
    ids=["with full stop", "without full stop"],
)
def test_bc_error_ends_message_with_correlation_id_when_built(message):
    response = bc_error(400, "BadRequest_NotFound", message, headers={"X-Extra": "1"})
    body = json.loads(response.body)

    assert response.status_code == 400
    assert response.headers["X-Extra"] == "1"
    assert set(body) == {"error"}
    assert body["error"]["code"] == "BadRequest_NotFound"
    assert re.fullmatch(
        rf"Bad Request - Error in query syntax\.  CorrelationId:  {GUID}\.",
        body["error"]["message"],
    )


def test_dataverse_error_carries_hex_code_and_annotations_when_built():
    response = dataverse_error(
        412,
        "0x80040237",
        "A record with matching key values already exists.",
        annotations={"@Microsoft.PowerApps.CDS.ErrorDetails.OperationStatus": "0"},
    )

    assert response.status_code == 412
    assert response.headers["OData-Version"] == "4.0"
    assert response.headers["content-type"].startswith("application/json")
    assert json.loads(response.body) == {
        "error": {
            "code": "0x80040237",
            "message": "A record with matching key values already exists.",
            "@Microsoft.PowerApps.CDS.ErrorDetails.OperationStatus": "0",
        }
    }


@pytest.mark.parametrize(
    ("service", "code"),
    [("business_central", "Internal_ServiceUnavailable"), ("dataverse", "")],
    ids=["business central", "dataverse"],
)
def test_service_error_takes_each_service_code_when_built(service, code):
    response = service_error(service, SERVICE_UNAVAILABLE, message="Try later.")

    assert response.status_code == 503
    error = json.loads(response.body)["error"]
    assert error["code"] == code
    assert error["message"].startswith("Try later.")

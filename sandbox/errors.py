"""Error responses in each service's own JSON shape.

Business Central (contract B8):

    {"error": {"code": "BadRequest_NotFound",
               "message": "Bad Request - Error in query syntax.  CorrelationId:  <guid>."}}

Dataverse (contract A9), `code` being a hex HRESULT string or empty:

    {"error": {"code": "0x80040237",
               "message": "A record with matching key values already exists."}}

The shared middlewares (auth, faults, protection) answer for either service, so the few errors
they raise are described once as `ServiceFault`s with one code per service.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from starlette.responses import JSONResponse

ServiceName = Literal["business_central", "dataverse"]

_DATAVERSE_MEDIA_TYPE: Final = "application/json; odata.metadata=minimal"


def bc_error(
    status: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    correlation_id: str | None = None,
) -> JSONResponse:
    """Build a Business Central error response.

    Args:
        status: HTTP status.
        code: BC's category-prefixed code, e.g. `Request_EntityChanged`.
        message: the human message; the correlation id suffix is appended here.
        headers: extra response headers, e.g. `Retry-After`.
        correlation_id: the id to append; a random one by default.

    Returns:
        `{"error": {"code", "message"}}` where the message ends with ` CorrelationId:  <guid>.`.
    """
    sentence = message.rstrip()
    if not sentence.endswith("."):
        sentence += "."
    correlation = correlation_id or str(uuid.uuid4())
    body = {"error": {"code": code, "message": f"{sentence}  CorrelationId:  {correlation}."}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def dataverse_error(
    status: int,
    code_hex: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    annotations: Mapping[str, object] | None = None,
) -> JSONResponse:
    """Build a Dataverse Web API error response.

    Args:
        status: HTTP status (unrelated to the code, as in the real service).
        code_hex: the HRESULT as `0x8004xxxx`, or `""` where Dataverse sends none.
        message: the human message.
        headers: extra response headers, e.g. `Retry-After`.
        annotations: extra keys inside `error`, such as
            `@Microsoft.PowerApps.CDS.ErrorDetails.OperationStatus`, sent by Dataverse when the
            request asked for `Prefer: odata.include-annotations`.

    Returns:
        `{"error": {"code", "message", ...annotations}}` with `OData-Version: 4.0`.
    """
    error: dict[str, object] = {"code": code_hex, "message": message}
    error.update(annotations or {})
    all_headers = {"OData-Version": "4.0", **(headers or {})}
    return JSONResponse(
        {"error": error}, status_code=status, headers=all_headers, media_type=_DATAVERSE_MEDIA_TYPE
    )


@dataclass(frozen=True, slots=True)
class ServiceFault:
    """An error the shared middlewares answer with, in both services' terms.

    Attributes:
        status: HTTP status.
        bc_code: the Business Central error code.
        dataverse_code: the Dataverse hex code (often empty).
        message: the default message.
    """

    status: int
    bc_code: str
    dataverse_code: str
    message: str


# The 401 code and message are what BC answers to a rejected token; the 5xx codes of both
# services are not documented (contract B7 only says Retry-After comes with 502/503).
UNAUTHORIZED: Final = ServiceFault(
    401, "Authentication_InvalidCredentials", "", "The server has rejected the client credentials."
)
BAD_GATEWAY: Final = ServiceFault(
    502, "Internal_BadGateway", "", "Bad Gateway: the service did not answer in time."
)
SERVICE_UNAVAILABLE: Final = ServiceFault(
    503, "Internal_ServiceUnavailable", "", "The service is temporarily unavailable."
)
GATEWAY_TIMEOUT: Final = ServiceFault(
    504, "Internal_GatewayTimeout", "", "The request did not complete within the time limit."
)


def service_error(
    service: ServiceName,
    fault: ServiceFault,
    *,
    message: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """Build `fault` as the error response of `service`.

    Args:
        service: which emulator answers.
        fault: the status and the per-service codes.
        message: replaces the fault's default message.
        headers: extra response headers.

    Returns:
        A `bc_error` or `dataverse_error` response.
    """
    text = message or fault.message
    if service == "business_central":
        return bc_error(fault.status, fault.bc_code, text, headers=headers)
    return dataverse_error(fault.status, fault.dataverse_code, text, headers=headers)

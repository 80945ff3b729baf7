"""The `multipart/mixed` wire format of `$batch`: reading requests, writing responses.

A request part (outside a change set)::

    --batch_AAA
    Content-Type: application/http
    Content-Transfer-Encoding: binary

    PATCH /api/data/v9.2/accounts(<guid>) HTTP/1.1
    Content-Type: application/json; type=entry

    {"name": "Contoso"}
    --batch_AAA--

A change set is a part of type `multipart/mixed; boundary=changeset_BBB` holding such parts,
each with an optional `Content-ID`. Responses use the same framing with `batchresponse_` and
`changesetresponse_` boundaries and embedded `HTTP/1.1 <status> <reason>` responses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final

from starlette.responses import Response

__all__ = [
    "EmbeddedRequest",
    "MimePart",
    "boundary_of",
    "parse_request",
    "render_multipart",
    "render_part",
    "split_parts",
]

_BOUNDARY: Final = re.compile(r'boundary\s*=\s*"?([^";,\s]+)"?', re.IGNORECASE)
_BLANK_LINE: Final = re.compile(r"\r?\n\r?\n")
_CRLF: Final = "\r\n"
_RESPONSE_HEADERS: Final = (
    "location",
    "odata-entityid",
    "content-type",
    "preference-applied",
    "etag",
)


@dataclass(frozen=True, slots=True)
class MimePart:
    """One MIME part: lower-case headers and the body text."""

    headers: dict[str, str]
    body: str

    @property
    def content_type(self) -> str:
        """The part's `Content-Type`, lower-cased."""
        return self.headers.get("content-type", "").lower()


@dataclass(frozen=True, slots=True)
class EmbeddedRequest:
    """An HTTP request carried in an `application/http` part."""

    method: str
    url: str
    headers: dict[str, str]
    body: str
    content_id: str | None


def boundary_of(content_type: str) -> str | None:
    """Return the boundary parameter of a `multipart/mixed` content type."""
    if "multipart/mixed" not in content_type.lower():
        return None
    match = _BOUNDARY.search(content_type)
    return match.group(1) if match else None


def _read_headers(block: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.splitlines():
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers


def _split_head(text: str) -> tuple[str, str]:
    if text.startswith(("\r\n", "\n")):
        return "", text.lstrip("\r\n")
    match = _BLANK_LINE.search(text)
    if match is None:
        return text, ""
    return text[: match.start()], text[match.end() :]


def split_parts(text: str, boundary: str) -> list[MimePart] | None:
    """Split a multipart body into parts; None when the closing delimiter is missing."""
    delimiter = re.compile(rf"(?:^|\r?\n)--{re.escape(boundary)}(?P<close>--)?[ \t]*(?:\r?\n|$)")
    parts: list[MimePart] = []
    previous_end: int | None = None
    for match in delimiter.finditer(text):
        if previous_end is not None:
            head, body = _split_head(text[previous_end : match.start()])
            parts.append(MimePart(_read_headers(head), body))
        if match.group("close"):
            return parts
        previous_end = match.end()
    return None


def parse_request(part: MimePart) -> EmbeddedRequest | None:
    """Read the HTTP request inside an `application/http` part; None when it has none."""
    head, body = _split_head(part.body.lstrip("\r\n"))
    lines = head.splitlines()
    request_line = lines[0].split() if lines else []
    if len(request_line) < 2:
        return None
    content_id = part.headers.get("content-id")
    headers = _read_headers("\n".join(lines[1:]))
    content_id = content_id or headers.get("content-id")
    return EmbeddedRequest(
        request_line[0].upper(), request_line[1], headers, body.rstrip("\r\n"), content_id
    )


def render_part(response: Response, content_id: str | None = None) -> str:
    """Render a response as one `application/http` part (without the delimiter line)."""
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    status = HTTPStatus(response.status_code)
    lines += ["", f"HTTP/1.1 {status.value} {status.phrase}", "OData-Version: 4.0"]
    for name, value in response.headers.items():
        if name in _RESPONSE_HEADERS:
            lines.append(f"{_header_case(name)}: {value}")
    if "odata-entityid" in response.headers and "location" not in response.headers:
        lines.append(f"Location: {response.headers['odata-entityid']}")
    body = bytes(response.body).decode("utf-8") if response.body else ""
    lines += ["", body]
    return _CRLF.join(lines)


def _header_case(name: str) -> str:
    special = {"odata-entityid": "OData-EntityId", "etag": "ETag"}
    return special.get(name, "-".join(word.capitalize() for word in name.split("-")))


def render_multipart(parts: list[str], boundary: str) -> str:
    """Join rendered parts with a boundary, ending with the closing delimiter."""
    chunks = [f"--{boundary}{_CRLF}{part}{_CRLF}" for part in parts]
    return "".join(chunks) + f"--{boundary}--{_CRLF}"

"""The ``multipart/mixed`` wire format of an OData ``$batch``: writing requests, reading answers.

A request body holds one ``application/http`` part per operation::

    --batch_5f0c
    Content-Type: application/http
    Content-Transfer-Encoding: binary

    DELETE https://org.crm.dynamics.com/api/data/v9.2/accounts(<guid>) HTTP/1.1
    If-Match: W/"1042"

    --batch_5f0c--

The answer frames embedded HTTP responses the same way (``--batchresponse_<guid>``); a change
set's answers sit in a nested ``multipart/mixed`` part. The stdlib ``email`` parser reads that
framing; this module only adds the request writer and the embedded-response reader.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import Final

__all__ = ["BatchPart", "EmbeddedResponse", "encode_batch", "parse_batch_response"]

_CRLF: Final = "\r\n"
_STATUS_WORDS: Final = 2  # "HTTP/1.1 204", the reason phrase is optional
_PARSER: Final = BytesParser(policy=policy.compat32)


@dataclass(frozen=True, slots=True)
class BatchPart:
    """One operation of a ``$batch``: method, URL (absolute or relative), headers, JSON body."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, object] | None = None


@dataclass(frozen=True, slots=True)
class EmbeddedResponse:
    """One embedded HTTP response of a ``$batch`` answer (header names lower-cased)."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json_object(self) -> dict[str, object] | None:
        """The body as a JSON object, or None when it is empty or not a JSON object."""
        if not self.body.strip():
            return None
        try:
            decoded = json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
        return decoded if isinstance(decoded, dict) else None


def encode_batch(parts: Sequence[BatchPart]) -> tuple[str, bytes]:
    """Write operations as one ``$batch`` body, outside any change set.

    Args:
        parts: The operations, answered in this order.

    Returns:
        The ``Content-Type`` header value (with its boundary) and the body.
    """
    boundary = f"batch_{uuid.uuid4().hex}"
    chunks = [f"--{boundary}{_CRLF}{_encode_part(part)}{_CRLF}" for part in parts]
    chunks.append(f"--{boundary}--{_CRLF}")
    return f"multipart/mixed; boundary={boundary}", "".join(chunks).encode("utf-8")


def _encode_part(part: BatchPart) -> str:
    lines = [
        "Content-Type: application/http",
        "Content-Transfer-Encoding: binary",
        "",
        f"{part.method} {part.url} HTTP/1.1",
    ]
    lines += [f"{name}: {value}" for name, value in part.headers.items()]
    body = ""
    if part.body is not None:
        lines.append("Content-Type: application/json; type=entry")
        body = json.dumps(part.body, ensure_ascii=False, separators=(",", ":"))
    lines += ["", body]
    return _CRLF.join(lines)


def parse_batch_response(content_type: str, body: bytes) -> list[EmbeddedResponse]:
    """Read the embedded responses of a ``$batch`` answer, change sets flattened, in order.

    Example answer (trimmed)::

        --batchresponse_1d2e
        Content-Type: application/http
        Content-Transfer-Encoding: binary

        HTTP/1.1 412 Precondition Failed
        Content-Type: application/json; odata.metadata=minimal

        {"error":{"code":"0x80060882","message":"The version of the existing record ..."}}
        --batchresponse_1d2e--

    Args:
        content_type: The answer's ``Content-Type`` (``multipart/mixed; boundary=...``).
        body: The answer's body.

    Returns:
        One ``EmbeddedResponse`` per answered operation; parts that hold no HTTP response are
        left out, so a short list means the service stopped early.
    """
    head = f"Content-Type: {content_type}{_CRLF}MIME-Version: 1.0{_CRLF}{_CRLF}".encode("ascii")
    message = _PARSER.parsebytes(head + body)
    responses: list[EmbeddedResponse] = []
    _collect(message, responses)
    return responses


def _collect(message: Message, responses: list[EmbeddedResponse]) -> None:
    if message.is_multipart():
        for part in message.get_payload():
            if isinstance(part, Message):
                _collect(part, responses)
        return
    payload = message.get_payload(decode=True)
    if isinstance(payload, bytes):
        embedded = _read_embedded(payload)
        if embedded is not None:
            responses.append(embedded)


def _read_embedded(payload: bytes) -> EmbeddedResponse | None:
    status_line, _, rest = payload.lstrip(b"\r\n").partition(b"\n")
    words = status_line.decode("latin-1").split()
    if len(words) < _STATUS_WORDS or not words[0].startswith("HTTP/") or not words[1].isdigit():
        return None
    inner = _PARSER.parsebytes(rest)
    headers = {name.lower(): str(value) for name, value in inner.items()}
    content = inner.get_payload(decode=True)
    return EmbeddedResponse(int(words[1]), headers, content if isinstance(content, bytes) else b"")

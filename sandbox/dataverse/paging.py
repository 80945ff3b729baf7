"""The `$skiptoken` paging cookie and the links that carry it.

The cookie looks like Dataverse's (an XML fragment whose inner cookie is URL-encoded, so it
appears encoded twice in `@odata.nextLink`)::

    <cookie pagenumber="2" pagingcookie="%3Ccookie%20page%3D%221%22%3E..."
            istracking="False" />

The inner cookie names the first and last ids of the page, like the real one, and also carries
the emulator's own cursor state (sort key of the last row, rows returned so far, the snapshot
version of a change-tracking read) as base64 JSON. Clients treat the whole value as opaque.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, unquote

from sandbox.dataverse.api_error import invalid_query

__all__ = ["PageCursor", "build_link", "decode_skiptoken", "encode_skiptoken"]

_OUTER: Final = re.compile(
    r'<cookie pagenumber="(?P<page>\d+)" pagingcookie="(?P<inner>[^"]*)" '
    r'istracking="(?P<tracking>True|False)" />'
)
_STATE: Final = re.compile(r'<state value="(?P<state>[A-Za-z0-9_=-]*)" />')
# Characters Dataverse leaves readable in the query options of the links it builds.
_QUERY_SAFE: Final = "$,()'=/:*@!;"


@dataclass(frozen=True, slots=True)
class PageCursor:
    """Where the next page starts.

    Attributes:
        page: number of the page this cursor leads to (2 for the second page).
        last_key: sort key of the last row returned (JSON-ready values).
        returned: rows returned so far (for `$top`).
        snapshot: version up to which a change-tracking read reports rows.
        offset: position in the list of changes of a delta read.
        tracking: whether the cursor belongs to a change-tracking read.
        first_id: id of the page's first row (cosmetic, as in Dataverse's cookie).
        last_id: id of the page's last row (cosmetic).
    """

    page: int
    last_key: tuple[Any, ...] | None = None
    returned: int = 0
    snapshot: int | None = None
    offset: int = 0
    tracking: bool = False
    first_id: str = ""
    last_id: str = ""


def encode_skiptoken(cursor: PageCursor, primary_id: str) -> str:
    """Return the `$skiptoken` value (not yet URL-encoded for the link)."""
    state = {
        "key": cursor.last_key,
        "returned": cursor.returned,
        "snapshot": cursor.snapshot,
        "offset": cursor.offset,
    }
    packed = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
    inner = (
        f'<cookie page="{cursor.page - 1}"><{primary_id} '
        f'last="{{{cursor.last_id.upper()}}}" first="{{{cursor.first_id.upper()}}}" />'
        f'<state value="{packed}" /></cookie>'
    )
    encoded = quote(inner, safe="")
    return (
        f'<cookie pagenumber="{cursor.page}" pagingcookie="{encoded}" '
        f'istracking="{cursor.tracking}" />'
    )


def decode_skiptoken(token: str) -> PageCursor:
    """Read a `$skiptoken` value produced by `encode_skiptoken`.

    Raises:
        ApiError: the token was not produced by this emulator or was altered.
    """
    outer = _OUTER.fullmatch(token.strip())
    inner = None if outer is None else _STATE.search(unquote(outer.group("inner")))
    if outer is None or inner is None:
        raise invalid_query("The $skiptoken value is not valid. Follow @odata.nextLink as given.")
    try:
        state = json.loads(base64.urlsafe_b64decode(inner.group("state")))
    except (binascii.Error, ValueError):
        raise invalid_query("The $skiptoken value is not valid.") from None
    key = state.get("key")
    return PageCursor(
        page=int(outer.group("page")),
        last_key=tuple(_as_tuple(part) for part in key) if isinstance(key, list) else None,
        returned=int(state.get("returned") or 0),
        snapshot=state.get("snapshot"),
        offset=int(state.get("offset") or 0),
        tracking=outer.group("tracking") == "True",
    )


def _as_tuple(value: object) -> object:
    return tuple(_as_tuple(item) for item in value) if isinstance(value, list) else value


def build_link(service_root: str, entity_set: str, options: list[tuple[str, str]]) -> str:
    """Return an absolute collection URL with query options encoded as Dataverse does."""
    query = "&".join(f"{name}={quote(value, safe=_QUERY_SAFE)}" for name, value in options)
    return f"{service_root}{entity_set}" + (f"?{query}" if query else "")

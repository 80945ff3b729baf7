"""The `Prefer` request header and the `Preference-Applied` answer.

Example::

    Prefer: odata.include-annotations="OData.Community.Display.V1.FormattedValue"
    Prefer: odata.maxpagesize=50,odata.track-changes
    Prefer: return=representation

Several `Prefer` headers are merged. Unknown preferences are ignored, as RFC 7240 asks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

__all__ = ["AnnotationFilter", "Preferences"]

_PREFERENCE: Final = re.compile(
    r'\s*(?P<name>[\w.-]+)\s*(?:=\s*(?P<value>"[^"]*"|[^,;]*))?(?:;[^,]*)?\s*(?:,|$)'
)


@dataclass(frozen=True, slots=True)
class AnnotationFilter:
    """Which instance annotations a caller asked for (`*`, `Microsoft.Dynamics.CRM.*`, `-x`).

    Attributes:
        text: the preference value as sent, without quotes.
    """

    text: str

    def wants(self, term: str) -> bool:
        """Return True when the annotation `term` should be included."""
        patterns = [pattern.strip() for pattern in self.text.split(",") if pattern.strip()]
        if any(_matches(pattern[1:], term) for pattern in patterns if pattern.startswith("-")):
            return False
        return any(_matches(pattern, term) for pattern in patterns if not pattern.startswith("-"))


def _matches(pattern: str, term: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return term.startswith(pattern[:-1])
    return pattern == term


@dataclass(frozen=True, slots=True)
class Preferences:
    """The preferences of one request.

    Attributes:
        max_page_size: `odata.maxpagesize`, when sent and a positive integer.
        annotations: `odata.include-annotations`, when sent.
        return_representation: `return=representation`.
        track_changes: `odata.track-changes`.
        continue_on_error: `odata.continue-on-error`.
    """

    max_page_size: int | None = None
    annotations: AnnotationFilter | None = None
    return_representation: bool = False
    track_changes: bool = False
    continue_on_error: bool = False

    @classmethod
    def parse(cls, headers: Iterable[str]) -> Preferences:
        """Read every `Prefer` header value of a request."""
        found: dict[str, str] = {}
        for header in headers:
            for match in _PREFERENCE.finditer(header):
                if match.group("name"):
                    found[match.group("name").lower()] = (match.group("value") or "").strip('"')
        size = found.get("odata.maxpagesize", "")
        annotations = found.get("odata.include-annotations")
        return cls(
            max_page_size=int(size) if size.isdigit() and int(size) > 0 else None,
            annotations=AnnotationFilter(annotations) if annotations is not None else None,
            return_representation=found.get("return") == "representation",
            track_changes="odata.track-changes" in found,
            continue_on_error="odata.continue-on-error" in found,
        )

    def applied(self, *, page_size: int | None = None, tracking: bool = False) -> str | None:
        """Return the `Preference-Applied` value for the preferences a response honoured.

        Args:
            page_size: the page size used, when `odata.maxpagesize` was honoured.
            tracking: whether `odata.track-changes` was honoured.
        """
        parts: list[str] = []
        if self.annotations is not None:
            parts.append(f'odata.include-annotations="{self.annotations.text}"')
        if page_size is not None and self.max_page_size is not None:
            parts.append(f"odata.maxpagesize={page_size}")
        if tracking:
            parts.append("odata.track-changes")
        return ",".join(parts) or None

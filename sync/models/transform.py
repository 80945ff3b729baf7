"""Transformation rules: how one field's value is reshaped on its way to the other side.

These are BC's transformation rule types (table 1237) as data. A field mapping carries a chain of
rules per direction; the engine applies them in order. Example of a mapping-file entry::

    {"kind": "replace", "find": "U.S.", "replace": "US"}
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from sync.models.base import FrozenModel, JsonScalar


class CaseRule(FrozenModel):
    """Change letter case: ``upper``, ``lower`` or ``title`` (first letter of each word)."""

    kind: Literal["uppercase", "lowercase", "title_case"]


class TrimRule(FrozenModel):
    """Remove leading and trailing white space."""

    kind: Literal["trim"]


class RemoveNonAlphanumericRule(FrozenModel):
    """Keep letters and digits only."""

    kind: Literal["remove_non_alphanumeric"]


class SubstringRule(FrozenModel):
    """Cut out a part: start by 1-based position or after a text; end by length or before a text."""

    kind: Literal["substring"]
    start: int | None = Field(default=None, ge=1)
    starting_text: str | None = None
    length: int | None = Field(default=None, ge=0)
    ending_text: str | None = None

    @model_validator(mode="after")
    def _one_start_one_end(self) -> SubstringRule:
        if self.start is not None and self.starting_text is not None:
            raise ValueError("substring: give 'start' or 'starting_text', not both")
        if self.length is not None and self.ending_text is not None:
            raise ValueError("substring: give 'length' or 'ending_text', not both")
        return self


class ReplaceRule(FrozenModel):
    """Replace every occurrence of a text."""

    kind: Literal["replace"]
    find: str = Field(min_length=1)
    replace: str = ""


class RegexRule(FrozenModel):
    """``regex_replace`` substitutes matches; ``regex_match`` keeps the first match only."""

    kind: Literal["regex_replace", "regex_match"]
    pattern: str = Field(min_length=1)
    replacement: str = ""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return pattern


class RoundRule(FrozenModel):
    """Round a number to a precision (0.01 = cents), to the nearest value, up or down."""

    kind: Literal["round"]
    precision: float = Field(gt=0)
    mode: Literal["nearest", "up", "down"] = "nearest"


class ValueMapRule(FrozenModel):
    """Translate listed values (for example country names to ISO codes); others pass unchanged."""

    kind: Literal["value_map"]
    values: dict[str, JsonScalar] = Field(min_length=1)


TransformRule = Annotated[
    CaseRule
    | TrimRule
    | RemoveNonAlphanumericRule
    | SubstringRule
    | ReplaceRule
    | RegexRule
    | RoundRule
    | ValueMapRule,
    Field(discriminator="kind"),
]
"""One rule of a chain; ``kind`` selects the shape."""

r"""Reversible escaping of PartitionKey and RowKey values for Azure Table Storage.

Azure refuses ``/``, ``\``, ``#``, ``?`` and the control characters U+0000-U+001F and
U+007F-U+009F in keys. Our keys also join several parts with ``|``. Each of these characters,
and the escape character ``~`` itself, is written as ``~`` followed by two upper-case hex digits,
so every text maps to exactly one key and back::

    escape_key("contoso/EU|#1")  # "contoso~2FEU~7C~231"
    unescape_key("contoso~2FEU~7C~231")  # "contoso/EU|#1"

Everything else (letters of any script, emoji, quotes, ``%``) is kept: Azure stores it as is.
"""

from __future__ import annotations

import re

SEPARATOR = "|"
"""Joins the escaped parts of one key; never appears inside an escaped part."""

_ESCAPE = "~"
_SPECIAL = frozenset("/\\#?|~")
_ESCAPED = re.compile(r"~([0-9A-F]{2})")
_LAST_C0_CONTROL = 0x1F
_C1_CONTROLS = range(0x7F, 0xA0)


def _needs_escape(char: str) -> bool:
    code = ord(char)
    return char in _SPECIAL or code <= _LAST_C0_CONTROL or code in _C1_CONTROLS


def escape_key(text: str) -> str:
    """Make ``text`` safe as (a part of) a PartitionKey or RowKey."""
    if not any(_needs_escape(char) for char in text):
        return text
    return "".join(f"{_ESCAPE}{ord(c):02X}" if _needs_escape(c) else c for c in text)


def unescape_key(key: str) -> str:
    """Undo ``escape_key``."""
    if _ESCAPE not in key:
        return key
    return _ESCAPED.sub(lambda match: chr(int(match.group(1), 16)), key)


def join_key(*parts: str) -> str:
    """Escape each part and join them with ``|``, for example ``scope|mapping``."""
    return SEPARATOR.join(escape_key(part) for part in parts)

"""Knobs for the behaviours the contract sheet marks unconfirmed, and the service limits.

Defaults follow api-contracts part A. Each unconfirmed behaviour can be switched so a test can
check that the engine copes with either answer the real service might give.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Literal

__all__ = ["SandboxOptions"]


def _no_overrides() -> Mapping[str, bool]:
    return MappingProxyType({})


def _no_keys() -> Mapping[str, tuple[tuple[str, ...], ...]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SandboxOptions:
    """How the Dataverse emulator behaves where the real service's answer is uncertain.

    Attributes:
        max_page_size: default and maximum `odata.maxpagesize` (5,000, confirmed).
        count_limit: `$count` stops counting here (5,000, confirmed).
        batch_limit: operations allowed in one `$batch` (1,000, confirmed).
        change_token_ttl: age after which a delta token is refused (7 days, confirmed default).
        expired_token_status: HTTP status for an expired delta token (unconfirmed; the error
            code is ExpiredVersionStamp 0x80044352 as RetrieveEntityChanges reports it).
        change_tracking: logical name -> change tracking on/off, overriding each table's
            default (accounts, contacts, currencies and companies on; users and teams off,
            which is unconfirmed for the real service and lets tests exercise the fallback).
        untracked_table: `error` refuses `odata.track-changes` on a table without change
            tracking; `ignore` serves the rows without a delta link (unconfirmed which).
        read_only_columns: `reject` answers 400 for a read-only column in a write body;
            `ignore` drops it silently (the real service does one or the other per column).
        state_on_create: `reject` refuses `statecode` in a create body (the contract sheet's
            reading); `accept` takes it.
        null_bind: `clear` lets `"x@odata.bind": null` clear a lookup; `reject` answers 400
            (unconfirmed, api-contracts A5).
        empty_string: `null` stores an empty string as null, as the platform is understood to
            do (unconfirmed); `keep` stores it as sent.
        alternate_keys: logical name -> alternate keys, each a tuple of column names. None are
            defined by default, as on a fresh environment.
    """

    max_page_size: int = 5000
    count_limit: int = 5000
    batch_limit: int = 1000
    change_token_ttl: timedelta = timedelta(days=7)
    expired_token_status: int = 400
    change_tracking: Mapping[str, bool] = field(default_factory=_no_overrides)
    untracked_table: Literal["error", "ignore"] = "error"
    read_only_columns: Literal["reject", "ignore"] = "reject"
    state_on_create: Literal["reject", "accept"] = "reject"
    null_bind: Literal["clear", "reject"] = "clear"
    empty_string: Literal["null", "keep"] = "null"
    alternate_keys: Mapping[str, tuple[tuple[str, ...], ...]] = field(default_factory=_no_keys)

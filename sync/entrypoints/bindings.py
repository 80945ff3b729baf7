"""Names the triggers are registered under, kept here so registering them stays cheap.

The host imports ``function_app`` on every cold start, and registering a trigger needs only
its name, queue or schedule. This module holds those (and nothing that imports pydantic, the
settings or the engine), so the blueprint modules can register every trigger without loading
the code behind it. Two values repeat what lives with the engine: the names of the standard
mappings (``sync.mappings.standard``) and the work queue (``sync.models.work``); a unit test
keeps each in line with its source.
"""

from __future__ import annotations

STANDARD_MAPPING_NAMES = (
    "SALESPEOPLE",
    "CURRENCY",
    "PAYMENT TERMS",
    "SHIPMENT METHOD",
    "SHIPPING AGENT",
    "CUSTOMER",
    "VENDOR",
    "CONTACT",
)
"""The mappings of ``standard_mappings()``, in its order: one timer each."""

WORK_QUEUE = "sync-work"
"""The queue long HTTP operations hand their work to (``sync.models.work.WORK_QUEUE``)."""
POISON_QUEUE = f"{WORK_QUEUE}-poison"
"""Where the host moves work that failed ``maxDequeueCount`` times."""

DEFAULT_SCHEDULE = "0 */30 * * * *"
"""What deployment sets every ``SYNC_SCHEDULE_<MAPPING>`` to: BC's default of every 30 minutes."""
PURGE_SCHEDULE = "0 15 3 * * *"
"""When expired Idempotency-Keys are deleted: daily at 03:15 UTC (fixed, so no setting)."""


def timer_name(mapping: str) -> str:
    """The timer function of a mapping: ``PAYMENT TERMS`` -> ``sync_payment_terms``."""
    return "sync_" + "".join(c if c.isalnum() else "_" for c in mapping.lower())


def schedule_setting(mapping: str) -> str:
    """The setting of a mapping's schedule: ``PAYMENT TERMS`` -> ``SYNC_SCHEDULE_PAYMENT_TERMS``."""
    return "SYNC_SCHEDULE_" + timer_name(mapping).removeprefix("sync_").upper()

"""Idempotency keys: the first answer to a request, kept so a repeated request gets it again."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from sync.models.base import AwareDatetime, FrozenModel


class StoredResponse(FrozenModel):
    """What a caller's ``Idempotency-Key`` stands for.

    A key is first *reserved* (``status`` None: the request is being worked on), then
    *completed* with the answer that went out. ``fingerprint`` identifies the request the key
    was used with (method, route, company, body), so the same key sent with another request is
    recognised and refused rather than answered with an unrelated response.

    Attributes:
        key: The caller's key, as sent.
        fingerprint: A digest of the request the key was first used with.
        expires_at: After this instant the key is forgotten and may be used again.
        status: The HTTP status of the answer; None while the request is still running.
        body: The answer's body as sent (JSON text).
        headers: The answer's headers that matter on replay (``Location``, ``Retry-After``).
    """

    key: str = Field(min_length=1, max_length=255)
    fingerprint: str = Field(min_length=1)
    expires_at: AwareDatetime
    status: int | None = Field(default=None, ge=100, le=599)
    body: str = ""
    headers: dict[str, str] = Field(default_factory=dict)

    @property
    def completed(self) -> bool:
        """True once the answer is known."""
        return self.status is not None

    def is_expired(self, now: datetime) -> bool:
        """True when the key may be forgotten."""
        return now >= self.expires_at

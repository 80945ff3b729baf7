"""Status links: a run's status URL that carries its own short-lived credential.

Power Automate polls the ``Location`` of a ``202 Accepted`` answer by itself and may not repeat
the function key the first call carried, so the link is signed instead::

    /api/runs/4be0.../status?company=5d1c...&exp=1714557600&sig=Xq3...

``sig`` is an HMAC-SHA256 over the run id, the company and the expiry, keyed with
``SYNC_API__STATUS_SIGNING_KEY``. The link opens only that run's status, only until ``exp``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from pydantic import SecretStr

from sync.entrypoints.api_error import ApiError
from sync.ports import Clock


@dataclass(frozen=True)
class StatusLinks:
    """Signs and checks status links.

    Attributes:
        key: The signing key; never logged, never answered.
        lifetime: How long a link stays valid after it was issued.
        clock: Where the issue and check times come from.
    """

    key: SecretStr
    lifetime: timedelta
    clock: Clock

    def link(self, base_url: str, run_id: str, company: str) -> str:
        """An absolute status URL for ``run_id``, valid for ``lifetime`` from now."""
        expires = int((self.clock.now() + self.lifetime).timestamp())
        query = urlencode(
            {"company": company, "exp": expires, "sig": self._sign(run_id, company, expires)}
        )
        return f"{base_url.rstrip('/')}/api/runs/{run_id}/status?{query}"

    def check(self, run_id: str, company: str, expires: str | None, signature: str | None) -> None:
        """Accept a link's credential or refuse it.

        Raises:
            ApiError: 403 when the signature is missing or does not match (a tampered link),
                401 when it matches but the link expired.
        """
        if not expires or not signature or not expires.isdigit():
            raise ApiError(403, "invalid_signature", "The status link is not signed.")
        expected = self._sign(run_id, company, int(expires))
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise ApiError(403, "invalid_signature", "The status link's signature does not match.")
        if int(expires) <= self.clock.now().timestamp():
            raise ApiError(
                401, "link_expired", "The status link expired; read the run with a function key."
            )

    def _sign(self, run_id: str, company: str, expires: int) -> str:
        message = f"{run_id}\n{company}\n{expires}".encode()
        digest = hmac.new(self.key.get_secret_value().encode(), message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

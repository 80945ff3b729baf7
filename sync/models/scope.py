"""Scope: the Business Central tenant, environment and company one mapping runs in."""

from __future__ import annotations

from pydantic import Field

from sync.models.base import FrozenModel


class Scope(FrozenModel):
    """One BC company of one environment, synced against the configured Dataverse environment.

    Several scopes (companies or environments) can share one Dataverse environment; every key in
    the state store starts with ``Scope.key`` so their couplings and watermarks never mix.
    """

    tenant: str = Field(min_length=1)
    environment: str = Field(min_length=1)
    company_id: str = Field(min_length=1)

    @property
    def key(self) -> str:
        """A stable text key, for example ``contoso.onmicrosoft.com:production:5d1c...``."""
        return f"{self.tenant}:{self.environment}:{self.company_id}"

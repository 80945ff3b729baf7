"""Composition root: turns settings into real adapters. The only place that picks technologies."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from types import TracebackType

import httpx
from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential
from cryptography import x509
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from sync.clock import SystemClock
from sync.connectors import (
    AdaptiveLimiter,
    BearerTokenAuth,
    MsalTokenProvider,
    ServiceClient,
    TokenProvider,
)
from sync.connectors.business_central import BusinessCentralConnector, business_central_api_root
from sync.connectors.business_central_gateway import BusinessCentralGateway
from sync.connectors.dataverse import DataverseConnector
from sync.connectors.dataverse_gateway import (
    DataverseCompany,
    DataverseEnvironment,
    DataverseGateway,
)
from sync.engine.run_parts import RunOptions, Stores
from sync.engine.runner import Runner
from sync.errors import ConfigError
from sync.models import Scope, Side
from sync.ports import Clock
from sync.settings import (
    CredentialSettings,
    Host,
    RunLimits,
    Settings,
    SqliteTarget,
    StoreTarget,
    TableConnectionTarget,
    resolve_store,
)
from sync.store import SqliteStateStore, StateStore, TableStateStore

BC_SCOPE = "https://api.businesscentral.dynamics.com/.default"


def open_state_store(target: StoreTarget, *, clock: Clock | None = None) -> StateStore:
    """Build the state store a target names; call ``ensure_tables`` before first use.

    A user-assigned identity is used when its client id is known; otherwise the default
    credential chain (system-assigned identity in Azure, developer sign-in locally).
    """
    clock = clock or SystemClock()
    if isinstance(target, SqliteTarget):
        return SqliteStateStore(target.path, clock=clock)
    if isinstance(target, TableConnectionTarget):
        return TableStateStore.from_connection_string(
            target.connection_string.get_secret_value(),
            table_prefix=target.table_prefix,
            clock=clock,
        )
    credential = (
        ManagedIdentityCredential(client_id=target.client_id)
        if target.client_id
        else DefaultAzureCredential()
    )
    return TableStateStore.from_account_url(
        target.endpoint, credential, table_prefix=target.table_prefix, clock=clock
    )


@dataclass
class Engine:
    """Open clients and the state store, shared by the runners of every company (scope)."""

    store: StateStore
    bc_client: ServiceClient
    dataverse_client: ServiceClient
    tenant: str
    environment: str
    limits: RunLimits
    clock: Clock
    companies: tuple[str, ...] = ()
    progress: Callable[[str, Side, int], None] | None = None
    dataverse_environment: DataverseEnvironment = field(default_factory=DataverseEnvironment)

    def runner(self, company_id: str, *, new_run_id: Callable[[], str] | None = None) -> Runner:
        """A runner for one BC company against the Dataverse environment.

        ``new_run_id`` fixes the id of its runs (a run announced before it starts).
        """
        scope = Scope(tenant=self.tenant, environment=self.environment, company_id=company_id)
        bc = BusinessCentralConnector(self.bc_client, scope, batch_size=self.limits.bc_batch_size)
        dataverse = DataverseConnector(
            self.dataverse_client, bulk_size=self.limits.dataverse_batch_size
        )
        store = self.store
        return Runner(
            scope=scope,
            bc=BusinessCentralGateway(bc, page_size=self.limits.bc_page_size),
            dataverse=DataverseGateway(
                dataverse,
                page_size=self.limits.dataverse_page_size,
                company=DataverseCompany.for_scope(scope),
                environment=self.dataverse_environment,
            ),
            stores=Stores(
                mappings=store.mappings,
                couplings=store.couplings,
                watermarks=store.watermarks,
                leases=store.leases,
                runs=store.runs,
            ),
            clock=self.clock,
            options=replace(run_options(self.limits), progress=self.progress),
            new_run_id=new_run_id,
        )

    async def close(self) -> None:
        """Close both clients and the store."""
        await self.bc_client.aclose()
        await self.dataverse_client.aclose()
        await self.store.close()

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


def run_options(limits: RunLimits) -> RunOptions:
    """The runner's bounds from ``SYNC_LIMITS__*``."""
    return RunOptions(
        lease=timedelta(seconds=limits.lease_seconds),
        overlap=timedelta(seconds=limits.overlap_seconds),
        failures_before_skip=limits.failures_before_skip,
        max_deletion_share=limits.max_deletion_share,
        time_budget=timedelta(seconds=limits.time_budget_seconds),
    )


def service_clients(
    *,
    bc_root: str,
    dataverse_url: str,
    tokens: TokenProvider,
    transports: tuple[httpx.AsyncBaseTransport | None, httpx.AsyncBaseTransport | None] = (
        None,
        None,
    ),
) -> tuple[ServiceClient, ServiceClient]:
    """One client per service: BC at its documented 5 concurrent requests, Dataverse adaptive."""
    bc = ServiceClient(
        service="bc",
        base_url=bc_root,
        auth=BearerTokenAuth(tokens, BC_SCOPE),
        limiter=AdaptiveLimiter(initial=5, maximum=5),
        transport=transports[0],
    )
    dataverse = ServiceClient(
        service="dataverse",
        base_url=f"{dataverse_url.rstrip('/')}/api/data/v9.2/",
        auth=BearerTokenAuth(tokens, f"{dataverse_url.rstrip('/')}/.default"),
        limiter=AdaptiveLimiter(initial=8, maximum=52),
        transport=transports[1],
    )
    return bc, dataverse


async def open_engine(settings: Settings, *, host: Host) -> Engine:
    """The production engine: msal credentials, both services, the configured store.

    Raises:
        ConfigError: A setting needed to reach the services is missing or unusable.
    """
    bc_settings, dataverse_settings, credentials = settings.require_services()
    tokens = _token_provider(credentials, bc_settings.tenant_id)
    bc_client, dataverse_client = service_clients(
        bc_root=business_central_api_root(
            bc_settings.api_base_url,
            tenant=bc_settings.tenant_id,
            environment=bc_settings.environment,
        ),
        dataverse_url=dataverse_settings.url,
        tokens=tokens,
    )
    store = open_state_store(resolve_store(settings, host=host))
    await store.ensure_tables()
    return Engine(
        store=store,
        bc_client=bc_client,
        dataverse_client=dataverse_client,
        tenant=bc_settings.tenant_id,
        environment=bc_settings.environment,
        limits=settings.limits,
        clock=SystemClock(),
        companies=bc_settings.companies,
    )


def _token_provider(credentials: CredentialSettings, tenant: str) -> MsalTokenProvider:
    secret = credentials.client_secret
    key_pem, thumbprint = (None, None) if secret is not None else _read_certificate(credentials)
    return MsalTokenProvider(
        tenant_id=credentials.tenant_id or tenant,
        client_id=credentials.client_id,
        client_secret=secret.get_secret_value() if secret is not None else None,
        certificate_pem=key_pem,
        certificate_thumbprint=thumbprint,
        authority_host=credentials.authority_host,
    )


def _read_certificate(credentials: CredentialSettings) -> tuple[str, str]:
    path = credentials.certificate_path
    assert path is not None  # noqa: S101 - checked by the caller
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"SYNC_CREDENTIALS__CERTIFICATE_PATH: cannot read {path} ({exc.strerror})"
        ) from exc
    password = credentials.certificate_password
    try:
        key = load_pem_private_key(data, password.get_secret_value().encode() if password else None)
        certificate = x509.load_pem_x509_certificate(data)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            "SYNC_CREDENTIALS__CERTIFICATE_PATH must hold a PEM certificate and its private key "
            "(and SYNC_CREDENTIALS__CERTIFICATE_PASSWORD when the key is encrypted)"
        ) from exc
    unencrypted = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    thumbprint = hashlib.sha1(certificate.public_bytes(Encoding.DER)).hexdigest()  # noqa: S324 - Entra's certificate thumbprint is SHA-1 by definition
    return unencrypted, thumbprint

"""Settings from the environment (``SYNC_`` prefix, ``__`` for nesting), validated once.

Examples::

    SYNC_BC__TENANT_ID=contoso.onmicrosoft.com
    SYNC_BC__ENVIRONMENT=production
    SYNC_BC__COMPANIES=5d1c9b1e-...,a8f0...          (comma-separated company ids)
    SYNC_DATAVERSE__URL=https://contoso.crm4.dynamics.com
    SYNC_CREDENTIALS__CLIENT_ID=...                  (Entra app registration)
    SYNC_CREDENTIALS__CLIENT_SECRET=...              (or SYNC_CREDENTIALS__CERTIFICATE_PATH)
    SYNC_STORE__TABLE_ENDPOINT=https://acct.table.core.windows.net   (managed identity)
    SYNC_LIMITS__TIME_BUDGET_SECONDS=480
    SYNC_API__STATUS_SIGNING_KEY=...                 (signs the 202 status links; 32+ chars)

``load_settings`` turns every validation problem into one ``ConfigError`` that names each
environment variable and says what is expected, without ever echoing a value (values may be
secrets). Where the state lives is decided by ``resolve_store``: explicit ``SYNC_STORE__*``
settings win; inside the Functions host the default is the host's own storage account
(``AzureWebJobsStorage``); the CLI and the demo default to a local SQLite file.
"""

from __future__ import annotations

import functools
import ipaddress
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sync.errors import ConfigError

ENV_PREFIX = "SYNC_"
DEFAULT_SQLITE_PATH = Path(".sync") / "state.db"
Host = Literal["cli", "functions"]


def _require_service_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("expected an absolute URL such as https://contoso.crm.dynamics.com")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError("must use https (plain http is accepted for loopback emulators only)")
    return value.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split_commas(value: object) -> object:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


ServiceUrl = Annotated[str, AfterValidator(_require_service_url)]
CompanyIds = Annotated[
    tuple[
        Annotated[str, Field(pattern=r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")], ...
    ],
    NoDecode,
    BeforeValidator(_split_commas),
    Field(min_length=1),
]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BusinessCentralSettings(_Section):
    """Which Business Central tenant, environment and companies to sync."""

    tenant_id: str = Field(min_length=1, description="the Entra tenant id or domain")
    environment: str = Field(default="production", min_length=1, description="the environment name")
    companies: CompanyIds = Field(description="comma-separated BC company ids (GUIDs)")
    api_base_url: ServiceUrl = Field(
        default="https://api.businesscentral.dynamics.com",
        description="the API host; override only for an emulator",
    )


class DataverseSettings(_Section):
    """Which Dataverse environment to sync with."""

    url: ServiceUrl = Field(
        description="the environment URL, e.g. https://contoso.crm.dynamics.com"
    )


class CredentialSettings(_Section):
    """The Entra app registration used for both services (client credentials)."""

    client_id: str = Field(min_length=1, description="the app registration's client id")
    tenant_id: str | None = Field(default=None, description="defaults to SYNC_BC__TENANT_ID")
    client_secret: SecretStr | None = Field(default=None, description="a client secret")
    certificate_path: Path | None = Field(default=None, description="a PEM certificate + key")
    certificate_password: SecretStr | None = None
    authority_host: ServiceUrl = "https://login.microsoftonline.com"

    @model_validator(mode="after")
    def _one_credential(self) -> CredentialSettings:
        if (self.client_secret is None) == (self.certificate_path is None):
            raise ValueError(
                "set exactly one of SYNC_CREDENTIALS__CLIENT_SECRET and "
                "SYNC_CREDENTIALS__CERTIFICATE_PATH"
            )
        return self


class StoreSettings(_Section):
    """Where couplings, watermarks, leases and run history live; at most one option."""

    table_connection_string: SecretStr | None = Field(
        default=None, description="an Azure Storage connection string"
    )
    table_endpoint: ServiceUrl | None = Field(
        default=None, description="a table endpoint for managed identity"
    )
    managed_identity_client_id: str | None = Field(
        default=None, description="client id of a user-assigned identity"
    )
    sqlite_path: Path | None = Field(default=None, description="a local SQLite file")
    table_prefix: str = Field(default="", pattern=r"^[A-Za-z]?[A-Za-z0-9]{0,20}$")

    @model_validator(mode="after")
    def _at_most_one_store(self) -> StoreSettings:
        chosen = [self.table_connection_string, self.table_endpoint, self.sqlite_path]
        if sum(option is not None for option in chosen) > 1:
            raise ValueError(
                "set only one of SYNC_STORE__TABLE_CONNECTION_STRING, "
                "SYNC_STORE__TABLE_ENDPOINT and SYNC_STORE__SQLITE_PATH"
            )
        return self


class RunLimits(_Section):
    """Bounds of one run; the defaults follow the services' documented limits."""

    time_budget_seconds: int = Field(default=480, ge=10, le=3600)
    lease_seconds: int = Field(default=600, ge=10, le=7200)
    overlap_seconds: int = Field(default=120, ge=0, le=86400)
    failures_before_skip: int = Field(default=2, ge=1, le=100)
    max_deletion_share: float = Field(default=0.2, ge=0.0, le=1.0)
    # 4,000: whole Dataverse bulk messages and BC batches per page, and the three pages a side
    # holds at once (two writing, one read ahead) keep a 100,000-record run under 250 MB.
    bc_page_size: int = Field(default=4000, ge=1, le=20000)
    bc_batch_size: int = Field(default=100, ge=1, le=100)
    dataverse_page_size: int = Field(default=4000, ge=1, le=5000)
    dataverse_batch_size: int = Field(default=1000, ge=1, le=1000)


def _long_enough(key: SecretStr) -> SecretStr:
    if len(key.get_secret_value()) < 32:  # noqa: PLR2004 - 256 bits of randomness at least
        raise ValueError("needs at least 32 characters")
    return key


SigningKey = Annotated[SecretStr, AfterValidator(_long_enough)]


class SyncApiSettings(_Section):
    """The HTTP API and the work queue of the Functions app."""

    status_signing_key: SigningKey | None = Field(
        default=None,
        description="a random secret of at least 32 characters that signs status links",
    )
    status_link_seconds: int = Field(
        default=86400, ge=60, le=7 * 86400, description="how long a status link stays valid"
    )
    retry_after_seconds: int = Field(
        default=10, ge=1, le=600, description="the Retry-After of 202 answers"
    )
    public_base_url: ServiceUrl | None = Field(
        default=None, description="the app's public origin when a proxy hides it"
    )
    fan_out_page_size: int = Field(
        default=500, ge=1, le=1000, description="record ids per work item of a full sync"
    )
    idempotency_seconds: int = Field(
        default=86400, ge=60, le=7 * 86400, description="how long an Idempotency-Key is kept"
    )
    dry_run_seconds: int = Field(
        default=90, ge=5, le=110, description="the time a dry run may take to plan"
    )
    plan_limit: int = Field(
        default=1000, ge=1, le=10000, description="operations a dry-run answer lists at most"
    )


class Settings(BaseSettings):
    """All settings. ``bc``, ``dataverse`` and ``credentials`` are needed only to reach services."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        case_sensitive=False,
        extra="ignore",
        frozen=True,
        populate_by_name=True,
    )

    bc: BusinessCentralSettings | None = None
    dataverse: DataverseSettings | None = None
    credentials: CredentialSettings | None = None
    store: StoreSettings = StoreSettings()
    limits: RunLimits = RunLimits()
    api: SyncApiSettings = SyncApiSettings()
    host_storage: SecretStr | None = Field(default=None, validation_alias="AzureWebJobsStorage")
    host_storage_account: str | None = Field(
        default=None, validation_alias="AzureWebJobsStorage__accountName"
    )
    host_storage_table_uri: str | None = Field(
        default=None, validation_alias="AzureWebJobsStorage__tableServiceUri"
    )
    host_storage_client_id: str | None = Field(
        default=None, validation_alias="AzureWebJobsStorage__clientId"
    )
    host_storage_queue_uri: str | None = Field(
        default=None, validation_alias="AzureWebJobsStorage__queueServiceUri"
    )

    def require_services(
        self,
    ) -> tuple[BusinessCentralSettings, DataverseSettings, CredentialSettings]:
        """The settings needed to reach BC and Dataverse.

        Raises:
            ConfigError: Naming every missing section's variables.
        """
        bc, dataverse, credentials = self.bc, self.dataverse, self.credentials
        if bc is None or dataverse is None or credentials is None:
            hints = {
                "SYNC_BC__TENANT_ID and SYNC_BC__COMPANIES": bc,
                "SYNC_DATAVERSE__URL": dataverse,
                "SYNC_CREDENTIALS__CLIENT_ID with a secret or certificate": credentials,
            }
            missing = "; ".join(hint for hint, section in hints.items() if section is None)
            raise ConfigError(f"Missing settings to reach the services: set {missing}")
        return bc, dataverse, credentials

    def require_status_signing_key(self) -> SecretStr:
        """The key that signs status links of long operations.

        Raises:
            ConfigError: ``SYNC_API__STATUS_SIGNING_KEY`` is not set.
        """
        key = self.api.status_signing_key
        if key is None:
            raise ConfigError(
                "Missing setting: set SYNC_API__STATUS_SIGNING_KEY to a random secret of at "
                "least 32 characters (it signs the status links of long operations)"
            )
        return key


class SqliteTarget(_Section):
    """State in a local SQLite file (CLI and demo)."""

    kind: Literal["sqlite"] = "sqlite"
    path: Path


class TableConnectionTarget(_Section):
    """State in Azure Table Storage reached with a connection string."""

    kind: Literal["table_connection"] = "table_connection"
    connection_string: SecretStr
    table_prefix: str = ""


class TableIdentityTarget(_Section):
    """State in Azure Table Storage reached with a managed identity."""

    kind: Literal["table_identity"] = "table_identity"
    endpoint: str
    client_id: str | None = None
    table_prefix: str = ""


StoreTarget = SqliteTarget | TableConnectionTarget | TableIdentityTarget


def resolve_store(settings: Settings, *, host: Host) -> StoreTarget:
    """Decide where state lives.

    Explicit ``SYNC_STORE__*`` settings win. In the Functions host the default is the host's
    storage account; a local file is refused there, since a restart or scale-out would lose it.

    Raises:
        ConfigError: In the Functions host with no usable storage setting.
    """
    store = settings.store
    prefix = store.table_prefix
    if store.table_connection_string is not None:
        return TableConnectionTarget(
            connection_string=store.table_connection_string, table_prefix=prefix
        )
    if store.table_endpoint is not None:
        return TableIdentityTarget(
            endpoint=store.table_endpoint,
            client_id=store.managed_identity_client_id,
            table_prefix=prefix,
        )
    if host == "cli":
        return SqliteTarget(path=store.sqlite_path or DEFAULT_SQLITE_PATH)
    if store.sqlite_path is not None:
        raise ConfigError(
            "SYNC_STORE__SQLITE_PATH is not allowed in the Functions app: a local file is lost on "
            "restart or scale-out. Remove it to use the host storage account (AzureWebJobsStorage)."
        )
    return _host_storage(settings, prefix)


def _host_storage(settings: Settings, prefix: str) -> StoreTarget:
    if settings.host_storage is not None and settings.host_storage.get_secret_value():
        return TableConnectionTarget(connection_string=settings.host_storage, table_prefix=prefix)
    endpoint = settings.host_storage_table_uri
    if endpoint is None and settings.host_storage_account:
        endpoint = f"https://{settings.host_storage_account}.table.core.windows.net"
    if endpoint is not None:
        return TableIdentityTarget(
            endpoint=endpoint, client_id=settings.host_storage_client_id, table_prefix=prefix
        )
    raise ConfigError(
        "No state store: set AzureWebJobsStorage (or AzureWebJobsStorage__accountName for a "
        "managed identity), or SYNC_STORE__TABLE_ENDPOINT / SYNC_STORE__TABLE_CONNECTION_STRING."
    )


def load_settings() -> Settings:
    """Read and validate the settings from the environment.

    Raises:
        ConfigError: One message listing each bad variable and what it expects.
    """
    try:
        return Settings()
    except ValidationError as exc:
        problems = [
            _describe(error) for error in exc.errors(include_input=False, include_url=False)
        ]
        raise ConfigError("Invalid settings:\n  " + "\n  ".join(problems)) from None


def _describe(error: ErrorDetails) -> str:
    location = [str(part) for part in error["loc"] if not str(part).isdigit()]
    name = _variable_name(location)
    message = error["msg"].removeprefix("Value error, ")
    expected = _expectation(location)
    return f"{name}: {message}" + (f" (expected {expected})" if expected else "")


def _variable_name(location: list[str]) -> str:
    if not location:
        return "settings"
    if location[0].startswith("AzureWebJobsStorage"):
        return location[0]
    return ENV_PREFIX + "__".join(part.upper() for part in location)


def _expectation(location: list[str]) -> str:
    sections: dict[str, type[BaseModel]] = {
        "bc": BusinessCentralSettings,
        "dataverse": DataverseSettings,
        "credentials": CredentialSettings,
        "store": StoreSettings,
        "limits": RunLimits,
        "api": SyncApiSettings,
    }
    if len(location) < 2 or location[0] not in sections:  # noqa: PLR2004 - section + field
        return ""
    field = sections[location[0]].model_fields.get(location[1])
    return (field.description or "") if field else ""


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read on first use (never at import)."""
    return load_settings()

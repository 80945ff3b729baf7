from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from sync.errors import ConfigError
from sync.settings import (
    SqliteTarget,
    TableConnectionTarget,
    TableIdentityTarget,
    get_settings,
    load_settings,
    resolve_store,
)

COMPANY = "5d1c9b1e-0000-4000-8000-000000000001"
SECRET = "s3cr3t-Value-that-must-never-leak"
CONNECTION = f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={SECRET};"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.upper().startswith(("SYNC_", "AZUREWEBJOBSSTORAGE")):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def service_environment(monkeypatch):
    values = {
        "SYNC_BC__TENANT_ID": "contoso.onmicrosoft.com",
        "SYNC_BC__COMPANIES": f"{COMPANY}, 5d1c9b1e-0000-4000-8000-000000000002",
        "SYNC_DATAVERSE__URL": "https://contoso.crm4.dynamics.com/",
        "SYNC_CREDENTIALS__CLIENT_ID": "11111111-2222-3333-4444-555555555555",
        "SYNC_CREDENTIALS__CLIENT_SECRET": SECRET,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def test_defaults_need_no_environment_when_nothing_is_set():
    settings = load_settings()
    assert settings.bc is None
    assert settings.limits.failures_before_skip == 2
    assert settings.limits.bc_batch_size == 100


def test_service_settings_parse_when_all_are_set(service_environment):
    bc, dataverse, credentials = load_settings().require_services()
    assert bc.companies == (COMPANY, "5d1c9b1e-0000-4000-8000-000000000002")
    assert bc.environment == "production"
    assert dataverse.url == "https://contoso.crm4.dynamics.com"
    assert credentials.client_secret is not None
    assert credentials.client_secret.get_secret_value() == SECRET


def test_require_services_names_each_missing_section_when_unset():
    with pytest.raises(ConfigError) as caught:
        load_settings().require_services()
    message = str(caught.value)
    assert "SYNC_BC__TENANT_ID" in message
    assert "SYNC_DATAVERSE__URL" in message
    assert "SYNC_CREDENTIALS__CLIENT_ID" in message


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SYNC_BC__COMPANIES", "not-a-guid", "SYNC_BC__COMPANIES"),
        ("SYNC_BC__COMPANIES", "", "SYNC_BC__COMPANIES"),
        (
            "SYNC_DATAVERSE__URL",
            "contoso.crm.dynamics.com",
            "SYNC_DATAVERSE__URL: expected an absolute",
        ),
        ("SYNC_DATAVERSE__URL", "http://contoso.crm.dynamics.com", "must use https"),
        ("SYNC_BC__API_BASE_URL", "ftp://x", "SYNC_BC__API_BASE_URL"),
        ("SYNC_LIMITS__BC_PAGE_SIZE", "30000", "SYNC_LIMITS__BC_PAGE_SIZE: Input should be less"),
        ("SYNC_LIMITS__BC_BATCH_SIZE", "101", "SYNC_LIMITS__BC_BATCH_SIZE"),
        ("SYNC_LIMITS__DATAVERSE_BATCH_SIZE", "lots", "SYNC_LIMITS__DATAVERSE_BATCH_SIZE"),
        ("SYNC_LIMITS__MAX_DELETION_SHARE", "1.5", "SYNC_LIMITS__MAX_DELETION_SHARE"),
        ("SYNC_STORE__TABLE_ENDPOINT", "table.core.windows.net", "SYNC_STORE__TABLE_ENDPOINT"),
        ("SYNC_CREDENTIALS__CERTIFICATE_PATH", "/certs/app.pem", "set exactly one of"),
    ],
    ids=[
        "company id not a guid",
        "no company",
        "dataverse url without scheme",
        "dataverse url over plain http",
        "bc api url with another scheme",
        "bc page size above 20000",
        "bc batch above 100",
        "dataverse batch not a number",
        "deletion share above one",
        "table endpoint without scheme",
        "secret and certificate both set",
    ],
)
def test_bad_setting_is_named_with_expectation_when_malformed(
    service_environment, monkeypatch, variable, value, expected
):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert expected in str(caught.value)
    assert SECRET not in str(caught.value)


def test_each_problem_is_listed_when_several_settings_are_bad(monkeypatch):
    monkeypatch.setenv("SYNC_LIMITS__BC_PAGE_SIZE", "0")
    monkeypatch.setenv("SYNC_LIMITS__OVERLAP_SECONDS", "-1")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "SYNC_LIMITS__BC_PAGE_SIZE" in str(caught.value)
    assert "SYNC_LIMITS__OVERLAP_SECONDS" in str(caught.value)


def test_missing_nested_setting_is_named_when_section_is_partial(monkeypatch):
    monkeypatch.setenv("SYNC_BC__ENVIRONMENT", "sandbox")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "SYNC_BC__TENANT_ID: Field required (expected the Entra tenant id or domain)" in str(
        caught.value
    )
    assert "SYNC_BC__COMPANIES: Field required" in str(caught.value)


def test_secrets_never_appear_when_settings_are_printed_or_logged(
    service_environment, monkeypatch, caplog
):
    monkeypatch.setenv("SYNC_STORE__TABLE_CONNECTION_STRING", CONNECTION)
    monkeypatch.setenv("AzureWebJobsStorage", CONNECTION)
    settings = load_settings()
    target = resolve_store(settings, host="functions")
    with caplog.at_level(logging.INFO):
        logging.getLogger("sync").info("settings %s target %s", settings, target)
    for text in (
        repr(settings),
        str(settings),
        repr(target),
        settings.model_dump_json(),
        caplog.text,
    ):
        assert SECRET not in text


def test_secret_value_is_not_echoed_when_it_is_malformed(service_environment, monkeypatch):
    monkeypatch.setenv("SYNC_CREDENTIALS__CLIENT_SECRET", "")
    monkeypatch.setenv("SYNC_CREDENTIALS__CERTIFICATE_PATH", SECRET)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert SECRET not in str(caught.value)
    assert caught.value.__cause__ is None


def test_cli_uses_local_sqlite_file_when_no_store_is_configured():
    assert resolve_store(load_settings(), host="cli") == SqliteTarget(path=Path(".sync/state.db"))


def test_functions_host_uses_its_own_storage_connection_when_no_store_is_configured(monkeypatch):
    monkeypatch.setenv("AzureWebJobsStorage", CONNECTION)
    target = resolve_store(load_settings(), host="functions")
    assert isinstance(target, TableConnectionTarget)
    assert target.connection_string.get_secret_value() == CONNECTION


def test_functions_host_uses_identity_storage_when_only_account_name_is_set(monkeypatch):
    monkeypatch.setenv("AzureWebJobsStorage__accountName", "syncstate")
    monkeypatch.setenv("AzureWebJobsStorage__clientId", "identity-client-id")
    target = resolve_store(load_settings(), host="functions")
    assert target == TableIdentityTarget(
        endpoint="https://syncstate.table.core.windows.net", client_id="identity-client-id"
    )


def test_explicit_table_endpoint_wins_when_host_storage_is_also_set(monkeypatch):
    monkeypatch.setenv("AzureWebJobsStorage", CONNECTION)
    monkeypatch.setenv("SYNC_STORE__TABLE_ENDPOINT", "https://state.table.core.windows.net")
    monkeypatch.setenv("SYNC_STORE__TABLE_PREFIX", "prod")
    target = resolve_store(load_settings(), host="functions")
    assert target == TableIdentityTarget(
        endpoint="https://state.table.core.windows.net", table_prefix="prod"
    )


def test_functions_host_refuses_local_file_when_sqlite_path_is_set(monkeypatch):
    monkeypatch.setenv("SYNC_STORE__SQLITE_PATH", "state/state.db")
    with pytest.raises(ConfigError, match="SYNC_STORE__SQLITE_PATH is not allowed"):
        resolve_store(load_settings(), host="functions")


def test_functions_host_fails_fast_when_no_storage_exists():
    with pytest.raises(ConfigError, match="AzureWebJobsStorage"):
        resolve_store(load_settings(), host="functions")


def test_two_store_choices_are_refused_when_both_are_set(monkeypatch):
    monkeypatch.setenv("SYNC_STORE__SQLITE_PATH", "state.db")
    monkeypatch.setenv("SYNC_STORE__TABLE_ENDPOINT", "https://state.table.core.windows.net")
    with pytest.raises(ConfigError, match="set only one of"):
        load_settings()


def test_settings_are_read_once_when_get_settings_is_called_twice(monkeypatch):
    first = get_settings()
    monkeypatch.setenv("SYNC_LIMITS__BC_BATCH_SIZE", "10")
    assert get_settings() is first


def test_api_settings_parse_when_set(monkeypatch):
    monkeypatch.setenv("SYNC_API__STATUS_SIGNING_KEY", SECRET * 2)
    monkeypatch.setenv("SYNC_API__RETRY_AFTER_SECONDS", "5")
    monkeypatch.setenv("SYNC_API__FAN_OUT_PAGE_SIZE", "250")
    settings = load_settings()
    assert settings.require_status_signing_key().get_secret_value() == SECRET * 2
    assert settings.api.retry_after_seconds == 5
    assert settings.api.fan_out_page_size == 250
    assert SECRET not in repr(settings)


def test_status_signing_key_is_named_when_missing():
    with pytest.raises(ConfigError, match="SYNC_API__STATUS_SIGNING_KEY"):
        load_settings().require_status_signing_key()


def test_short_status_signing_key_is_refused_without_echo_when_set(monkeypatch):
    monkeypatch.setenv("SYNC_API__STATUS_SIGNING_KEY", "short-key-value")
    with pytest.raises(ConfigError, match="SYNC_API__STATUS_SIGNING_KEY") as raised:
        load_settings()
    assert "short-key-value" not in str(raised.value)


def test_fan_out_page_is_bounded_by_queue_message_size_when_set(monkeypatch):
    monkeypatch.setenv("SYNC_API__FAN_OUT_PAGE_SIZE", "5000")
    with pytest.raises(ConfigError, match="SYNC_API__FAN_OUT_PAGE_SIZE"):
        load_settings()

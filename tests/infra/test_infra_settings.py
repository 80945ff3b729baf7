"""The templates in infra/ give the app every setting it needs in Azure, and hold no secret.

The setting names come from ``sync.settings`` and ``sync.mappings`` themselves, so a setting
added to or renamed in the app fails here until the templates follow. Bicep is read as text
(the main venv has no Bicep parser): the app settings are the keys of two object literals,
``syncSettings`` in main.bicep and ``hostSettings`` in modules/function-app.bicep, and the
site's ``appsettings`` resource is checked to be built from exactly those two.
"""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from sync.mappings import standard_mappings
from sync.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"
FUNCTION_APP = INFRA / "modules" / "function-app.bicep"
DEFAULT_SCHEDULE = "0 */30 * * * *"  # BC's default: every 30 minutes

# Settings the Functions host itself needs for identity-based storage; the app does not read
# `__credential`, so it cannot be derived from sync.settings.
HOST_STORAGE_SETTINGS = {
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
}
# Refused or ignored on Flex Consumption (runtime and package live in functionAppConfig).
REFUSED_ON_FLEX = {
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "FUNCTIONS_WORKER_RUNTIME_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
    "WEBSITE_TIME_ZONE",
    "TZ",
    "FUNCTIONS_WORKER_PROCESS_COUNT",
}
SECRET_PATTERNS = {
    "storage account key": re.compile(r"AccountKey\s*=", re.IGNORECASE),
    "connection string": re.compile(r"DefaultEndpointsProtocol\s*=", re.IGNORECASE),
    "SAS signature": re.compile(r"SharedAccessSignature\s*=|[?&]sig=", re.IGNORECASE),
    "key read at deployment": re.compile(r"\blist(Keys|AccountSas|ServiceSas)\s*\(", re.IGNORECASE),
    "instrumentation key": re.compile(r"InstrumentationKey\s*=", re.IGNORECASE),
    "Entra client secret": re.compile(r"[\w~.-]{3}\dQ~[\w~.-]{31,34}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "development storage": re.compile(r"UseDevelopmentStorage", re.IGNORECASE),
}


def _model_in(annotation: object) -> type[BaseModel] | None:
    candidates = (annotation, *typing.get_args(annotation))
    return next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)


def app_setting_names() -> set[str]:
    """Every environment variable the app reads, as sync.settings spells it."""
    names = set()
    for section, field in Settings.model_fields.items():
        model = _model_in(field.annotation)
        if model is None:
            names.add(str(field.validation_alias or ENV_PREFIX + section.upper()))
            continue
        names |= {f"{ENV_PREFIX}{section.upper()}__{name.upper()}" for name in model.model_fields}
    return names | schedule_setting_names()


def schedule_setting_names() -> set[str]:
    """One timer schedule per standard mapping, e.g. SYNC_SCHEDULE_PAYMENT_TERMS."""
    mappings = standard_mappings().mappings
    return {f"{ENV_PREFIX}SCHEDULE_{m.name.upper().replace(' ', '_')}" for m in mappings}


def required_in_azure() -> set[str]:
    """What a deployed app cannot run without: services, secrets, identity storage, timers."""
    services = {
        "SYNC_BC__TENANT_ID",
        "SYNC_BC__ENVIRONMENT",
        "SYNC_BC__COMPANIES",
        "SYNC_DATAVERSE__URL",
        "SYNC_CREDENTIALS__CLIENT_ID",
        "SYNC_CREDENTIALS__CLIENT_SECRET",
        "SYNC_API__STATUS_SIGNING_KEY",
    }
    return services | HOST_STORAGE_SETTINGS | schedule_setting_names()


def _strip_comment(line: str) -> str:
    # `//` inside a string (an https:// URL) is not a comment.
    outside = re.split(r"('(?:[^'\\]|\\.)*')", line)
    for index in range(0, len(outside), 2):
        if "//" in outside[index]:
            return "".join(outside[:index]) + outside[index].split("//", 1)[0]
    return line


def bicep_code(path: Path) -> list[str]:
    """The lines of a Bicep file without their comments."""
    return [_strip_comment(line) for line in path.read_text(encoding="utf-8").splitlines()]


def object_entries(path: Path, opening: str) -> dict[str, str]:
    """The top-level ``key: value`` entries of the object literal that follows ``opening``."""
    lines = bicep_code(path)
    start = next((i for i, line in enumerate(lines) if opening in line), None)
    assert start is not None, f"{opening!r} not found in {path.name}"
    entries: dict[str, str] = {}
    depth = 0
    for line in lines[start:]:
        if depth == 1 and (entry := re.match(r"\s*'?([\w.]+)'?\s*:\s*(.+?)\s*$", line)):
            entries[entry[1]] = entry[2]
        unquoted = re.sub(r"'(?:[^'\\]|\\.)*'", "''", line)
        depth += unquoted.count("{") - unquoted.count("}")
        if depth <= 0:
            break
    return entries


def app_settings() -> dict[str, str]:
    """Name -> Bicep expression of every app setting the site gets."""
    return object_entries(MAIN, "var syncSettings = union({") | object_entries(
        FUNCTION_APP, "var hostSettings = {"
    )


def param_default(path: Path, name: str) -> str | None:
    match = re.search(rf"^param {name} \w+ = (.+)$", path.read_text(encoding="utf-8"), re.M)
    return match[1] if match else None


def test_site_gets_both_setting_blocks_when_deployed():
    main, module = MAIN.read_text(encoding="utf-8"), FUNCTION_APP.read_text(encoding="utf-8")
    assert re.search(r"^\s*syncSettings: syncSettings$", main, re.M)
    settings_resource = module.split("resource appSettings 'Microsoft.Web/sites/config@")[1]
    assert "properties: union(syncSettings, hostSettings)" in settings_resource.split("\n}")[0]


def test_template_provides_every_setting_required_in_azure_when_deployed():
    assert required_in_azure() - HOST_STORAGE_SETTINGS <= app_setting_names(), "test is stale"
    missing = required_in_azure() - set(app_settings())
    assert not missing, f"settings the templates do not provide: {sorted(missing)}"


def test_template_names_only_settings_the_app_reads_when_setting_sync_values():
    provided = {name for name in app_settings() if name.startswith(ENV_PREFIX)}
    unknown = provided - app_setting_names()
    assert not unknown, f"SYNC_* settings the app does not read: {sorted(unknown)}"


@pytest.mark.parametrize(
    "name", ["SYNC_CREDENTIALS__CLIENT_SECRET", "SYNC_API__STATUS_SIGNING_KEY"], ids=str.lower
)
def test_secret_comes_from_key_vault_when_deployed(name):
    assert re.fullmatch(r"'@Microsoft\.KeyVault\(SecretUri=\$\{[\w.]+\}\)'", app_settings()[name])
    assert "keyVaultReferenceIdentity: identityId" in FUNCTION_APP.read_text(encoding="utf-8")


def test_storage_is_reached_with_the_managed_identity_when_deployed():
    settings = app_settings()
    assert settings["AzureWebJobsStorage__credential"] == "'managedidentity'"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert "AzureWebJobsStorage" not in settings, "a connection string would need a key"
    assert not {name for name in settings if name.startswith("SYNC_STORE__")}
    storage = (INFRA / "modules" / "storage.bicep").read_text(encoding="utf-8")
    assert "allowSharedKeyAccess: false" in storage


def test_every_mapping_timer_runs_every_30_minutes_when_not_overridden():
    settings = app_settings()
    assert {settings[name] for name in schedule_setting_names()} == {"syncSchedule"}
    assert param_default(MAIN, "syncSchedule") == f"'{DEFAULT_SCHEDULE}'"


def test_no_setting_is_refused_by_flex_when_deployed():
    code = "\n".join(line for path in INFRA.rglob("*.bicep") for line in bicep_code(path))
    assert not {name for name in REFUSED_ON_FLEX if re.search(rf"\b{name}\b", code)}
    assert "linuxFxVersion" not in code
    assert re.search(r"runtime: \{\s+name: 'python'\s+version: '3\.11'\s+\}", code)


# Hardening the brief asks for and checkov's Bicep policies do not all look at.
@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("storage", "allowBlobPublicAccess: false"),
        ("storage", "allowSharedKeyAccess: false"),
        ("storage", "minimumTlsVersion: 'TLS1_2'"),
        ("storage", "supportsHttpsTrafficOnly: true"),
        ("storage", "publicAccess: 'None'"),
        ("function-app", "httpsOnly: true"),
        ("function-app", "minTlsVersion: '1.2'"),
        ("function-app", "ftpsState: 'Disabled'"),
        ("function-app", "type: 'UserAssignedIdentity'"),
        ("key-vault", "enableRbacAuthorization: true"),
        ("monitoring", "DisableLocalAuth: true"),
    ],
    ids=lambda value: value.split(":")[0],
)
def test_hardening_is_set_when_deployed(module, line):
    assert line in [code.strip() for code in bicep_code(INFRA / "modules" / f"{module}.bicep")]


def test_app_identity_gets_only_the_data_roles_it_needs_when_deployed():
    roles = {
        "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
        "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
        "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
        "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
        "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
        "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer (deployer only)",
    }
    every_file = "\n".join(p.read_text(encoding="utf-8") for p in INFRA.rglob("*.bicep"))
    granted = set(re.findall(r"[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}", every_file))
    assert granted == set(roles), {guid: roles.get(guid, "unexpected") for guid in granted}
    assignments = (INFRA / "modules" / "role-assignments.bicep").read_text(encoding="utf-8")
    officer = assignments.index("roles.keyVaultSecretsOfficer)")
    assert "principalId: deployerPrincipalId" in assignments[officer:]
    assert "appPrincipalId" not in assignments[officer:]


def deployment_files() -> list[Path]:
    return sorted([*INFRA.rglob("*.bicep"), *INFRA.rglob("*.json"), ROOT / "azure.yaml"])


def secrets_in(text: str) -> list[str]:
    return [kind for kind, pattern in SECRET_PATTERNS.items() if pattern.search(text)]


@pytest.mark.parametrize("path", deployment_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_secret_value_appears_when_reading_deployment_files(path):
    assert secrets_in(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("leak", "kind"),
    [
        ("'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc=='", "storage account key"),
        ("value: storage.listKeys().keys[0].value", "key read at deployment"),
        # Assembled, so that no secret-shaped literal sits in the repository.
        ("CLIENT_SECRET: 'abc8Q~" + "x" * 34 + "'", "Entra client secret"),
        ("uri: 'https://a.blob.core.windows.net/c?sv=2022&sig=abc'", "SAS signature"),
    ],
    ids=["connection string", "listKeys", "client secret literal", "sas url"],
)
def test_secret_scan_finds_a_leak_when_one_is_present(leak, kind):
    assert kind in secrets_in(leak)


def test_secret_parameters_are_secure_when_declared():
    looks_secret = re.compile(r"secret|password|signingkey|token|credential", re.IGNORECASE)
    for path in INFRA.rglob("*.bicep"):
        pending_secure = False
        for line in path.read_text(encoding="utf-8").splitlines():
            pending_secure = pending_secure or line.strip() == "@secure()"
            if declared := re.match(r"param (\w+) ", line):
                name = declared[1]
                # Names of secrets (clientSecretName) are not secrets.
                if looks_secret.search(name) and not name.endswith("Name"):
                    assert pending_secure, f"{path.name}: param {name} needs @secure()"
                pending_secure = False


def test_parameters_file_takes_values_from_the_azd_environment_when_provisioning():
    parameters = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    values = {name: entry["value"] for name, entry in parameters["parameters"].items()}
    assert all(re.fullmatch(r"\$\{[A-Z_]+(=[^}]*)?\}", str(v)) for v in values.values()), values
    assert "statusSigningKey" not in values, "an empty azd variable would replace the new key"

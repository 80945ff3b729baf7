// The whole deployment: one resource group holding the Functions app (Flex Consumption), its
// storage, its identity, the Key Vault with the client secret, and monitoring.
// `azd up` fills the parameters from main.parameters.json; `az deployment sub create` works too.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds every resource name.')
param environmentName string

@minLength(1)
@description('Azure region; it must offer the Flex Consumption plan.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of whoever deploys; gets Key Vault Secrets Officer so they can set the client secret. Empty to skip.')
param principalId string = ''

@description('Kind of principal behind principalId.')
@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

@minLength(1)
@description('SYNC_BC__TENANT_ID: Entra tenant id or domain of Business Central.')
param bcTenantId string

@minLength(1)
@description('SYNC_BC__ENVIRONMENT: Business Central environment name.')
param bcEnvironment string = 'production'

@minLength(36)
@description('SYNC_BC__COMPANIES: comma-separated Business Central company ids (GUIDs).')
param bcCompanies string

@minLength(1)
@description('SYNC_DATAVERSE__URL: Dataverse environment URL, e.g. https://contoso.crm.dynamics.com.')
param dataverseUrl string

@minLength(1)
@description('SYNC_CREDENTIALS__CLIENT_ID: client id of the Entra app registration used for both services.')
param clientId string

@secure()
// checkov:skip=CKV_AZURE_131: the default is newGuid(), a fresh random value at each deployment, not a hardcoded one
@description('Key that signs the status links of long operations (SYNC_API__STATUS_SIGNING_KEY). Generated anew at each provisioning unless given.')
param statusSigningKey string = '${newGuid()}${newGuid()}'

@description('NCRONTAB schedule (UTC) of every mapping timer; BC syncs every 30 minutes by default.')
param syncSchedule string = '0 */30 * * * *'

@description('Extra app settings, e.g. {"SYNC_SCHEDULE_CUSTOMER": "0 */5 * * * *", "SYNC_LIMITS__TIME_BUDGET_SECONDS": "480"}. Each provisioning replaces all app settings, so keep lasting changes here.')
param additionalAppSettings object = {}

@description('Memory per instance of the Flex Consumption plan.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound of instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Redundancy of the storage account that holds couplings and watermarks; losing them means re-coupling every record.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_GRS'

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${abbrs.webSitesFunctions}sync-${resourceToken}'
// Flex Consumption runs the package azd uploads to this container.
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
var clientSecretName = 'sync-credentials-client-secret'
var signingKeySecretName = 'sync-api-status-signing-key'

resource group 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: group
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}sync-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: group
  params: {
    workspaceName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    appInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: group
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    skuName: storageSkuName
    deploymentContainerName: deploymentContainerName
  }
}

module vault 'modules/key-vault.bicep' = {
  name: 'key-vault'
  scope: group
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    clientSecretName: clientSecretName
    signingKeySecretName: signingKeySecretName
    statusSigningKey: statusSigningKey
  }
}

module access 'modules/role-assignments.bicep' = {
  name: 'role-assignments'
  scope: group
  params: {
    appPrincipalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: vault.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
}

// Every SYNC_* setting the app reads in Azure. The state store is not listed: without
// SYNC_STORE__* the app keeps its tables in the host storage account, reached through
// AzureWebJobsStorage__* with the managed identity (set in the function-app module).
var syncSettings = union({
  SYNC_BC__TENANT_ID: bcTenantId
  SYNC_BC__ENVIRONMENT: bcEnvironment
  SYNC_BC__COMPANIES: bcCompanies
  SYNC_DATAVERSE__URL: dataverseUrl
  SYNC_CREDENTIALS__CLIENT_ID: clientId
  // Key Vault references without a version follow the latest secret, so a rotated client
  // secret needs no redeployment: the platform re-reads references within 24 hours, and at
  // once after any change to the app's configuration.
  SYNC_CREDENTIALS__CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${vault.outputs.clientSecretUri})'
  SYNC_API__STATUS_SIGNING_KEY: '@Microsoft.KeyVault(SecretUri=${vault.outputs.signingKeyUri})'
  SYNC_SCHEDULE_SALESPEOPLE: syncSchedule
  SYNC_SCHEDULE_CURRENCY: syncSchedule
  SYNC_SCHEDULE_PAYMENT_TERMS: syncSchedule
  SYNC_SCHEDULE_SHIPMENT_METHOD: syncSchedule
  SYNC_SCHEDULE_SHIPPING_AGENT: syncSchedule
  SYNC_SCHEDULE_CUSTOMER: syncSchedule
  SYNC_SCHEDULE_VENDOR: syncSchedule
  SYNC_SCHEDULE_CONTACT: syncSchedule
}, additionalAppSettings)

module api 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: group
  // The host needs its storage roles, and the Key Vault reference its reader role, before
  // the first start; otherwise the first start fails and is retried only later.
  dependsOn: [
    access
  ]
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    appInsightsName: monitoring.outputs.appInsightsName
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    syncSettings: syncSettings
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = group.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output AZURE_FUNCTION_APP_URL string = api.outputs.url
output SERVICE_API_NAME string = api.outputs.name
output AZURE_KEY_VAULT_NAME string = vault.outputs.name
output AZURE_KEY_VAULT_SECRET_NAME string = clientSecretName
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.appInsightsName
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId

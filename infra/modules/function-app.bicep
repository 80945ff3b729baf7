// The Functions app on the Flex Consumption plan (Linux, Python 3.11). Flex takes the
// runtime and the deployment package location from functionAppConfig, not from app settings
// (FUNCTIONS_WORKER_RUNTIME, WEBSITE_RUN_FROM_PACKAGE and the content share settings are
// refused there), and it has no deployment slots.
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param appInsightsName string
param instanceMemoryMB int
param maximumInstanceCount int
@description('The SYNC_* settings (main.bicep).')
param syncSettings object

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// Identity-based connections: host storage with the user-assigned identity, and telemetry
// with Entra ID. No key and no connection string with a key appears here. The app's state
// store and work queue use the same settings (sync.settings: without SYNC_STORE__* the
// tables live in the host storage account). Service URIs come from the account itself, so
// they are right in every Azure cloud.
var hostSettings = {
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy on Flex Consumption needs always-ready instances billed around the clock; a sync that runs every 30 minutes does not need it
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: Power Automate calls the HTTP API from Microsoft's public addresses; function keys guard every route but health
  // checkov:skip=CKV_AZURE_17: callers (Power Automate, admins) authenticate with function keys; requiring client certificates would lock them out
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales to zero by design; always-ready instances can be added in functionAppConfig.scaleAndConcurrency when wanted
  // checkov:skip=CKV_AZURE_213: the App Service health check is not confirmed for Flex Consumption; the anonymous /api/health route serves deployment checks and availability tests
  name: name
  location: location
  // azd finds the app to deploy to by this tag (service "api" in azure.yaml).
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with this identity; there is no system-assigned one.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// The complete set of app settings: each deployment replaces all of them. Host settings come
// last, so that additionalAppSettings cannot break the storage connection.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov treats every sites/config resource as the web server configuration; this one holds
  // app settings only, so the web server checks below do not apply to it.
  // checkov:skip=CKV_AZURE_13: function keys guard the API, as Power Automate sends them; App Service authentication is not configured (unconfirmed on Flex Consumption)
  // checkov:skip=CKV_AZURE_63: web server HTTP logs do not exist for Functions; requests go to Application Insights
  // checkov:skip=CKV_AZURE_65: detailed error pages are a web server feature; Functions report errors to Application Insights
  // checkov:skip=CKV_AZURE_66: failed request tracing is a web server feature; Functions report failures to Application Insights
  // checkov:skip=CKV_AZURE_80: a .NET Framework version does not apply to a Python app
  // checkov:skip=CKV_AZURE_88: Flex Consumption has no Azure Files content share; the package is a blob
  // checkov:skip=CKV_AZURE_222: misapplied to an app settings resource; see the same skip on the site
  parent: site
  name: 'appsettings'
  properties: union(syncSettings, hostSettings)
}

output name string = site.name
output url string = 'https://${site.properties.defaultHostName}'

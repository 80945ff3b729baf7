// The one storage account of the app: the Functions host (keys, timer locks), the deployment
// package, the sync state tables and the work queues. Only Entra ID reaches it: shared keys,
// and so connection strings with keys, are refused.
param name string
param location string
param tags object
param skuName string
param deploymentContainerName string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: without VNet integration Flex instances have no fixed outbound addresses to allow, so a default-deny firewall would lock out the app itself; access is Entra ID only (shared keys off)
  // checkov:skip=CKV_AZURE_59: without VNet integration Flex instances have no fixed outbound addresses to allow, so a default-deny firewall would lock out the app itself; access is Entra ID only (shared keys off)
  // checkov:skip=CKV_AZURE_206: the SKU is main.bicep's storageSkuName (default Standard_GRS), which checkov cannot follow into a module
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    isLocalUserEnabled: false
    isSftpEnabled: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

output name string = account.name

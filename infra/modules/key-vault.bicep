// Key Vault for the app's two secrets. RBAC mode: access is granted by role assignments
// (role-assignments.bicep), never by access policies.
// - The client secret of the Entra app registration is not created here: its value never
//   passes through a template, a parameter file or a deployment record; it is set once with
//   `az keyvault secret set` (README, Deployment).
// - The key that signs the status links of long operations is generated at deployment time
//   (main.bicep) and stored here; each provisioning rotates it.
param name string
param location string
param tags object
param clientSecretName string
param signingKeySecretName string
@secure()
param statusSigningKey string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: without VNet integration Flex instances have no fixed outbound addresses to allow, so a default-deny firewall would lock out the app itself; access is Entra ID only (RBAC vault, one reader role)
  // checkov:skip=CKV_AZURE_189: without VNet integration Flex instances have no fixed outbound addresses to allow, so a default-deny firewall would lock out the app itself; access is Entra ID only (RBAC vault, one reader role)
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource signingKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: signingKeySecretName
  // checkov:skip=CKV_AZURE_41: the key is replaced at each provisioning and status links live a day at most; an expiry date would only stop the app when nobody provisions for a while
  properties: {
    value: statusSigningKey
    contentType: 'text/plain'
  }
}

output name string = vault.name
// Versionless URIs: the app follows the latest version of each secret.
output clientSecretUri string = '${vault.properties.vaultUri}secrets/${clientSecretName}/'
output signingKeyUri string = '${vault.properties.vaultUri}secrets/${signingKey.name}/'

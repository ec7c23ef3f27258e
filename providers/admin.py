"""The ProviderCredential admin is registered in catalog/admin.py: its saves and deletes go
through the credential lifecycle (catalog.credentials) and its actions queue catalog jobs, which
this app may not import. Its write-only key form is providers.forms.ProviderCredentialForm."""

"""The /v1 viewsets: thin, over the gateway services."""

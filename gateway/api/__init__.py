"""The /v1 API: router, viewsets, request contracts, parsing, negotiation, the error envelope."""

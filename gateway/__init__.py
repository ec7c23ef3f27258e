"""The gateway: the OpenAI-compatible /v1 API and the web pages over the catalog. Capability
packages (chat, media, routing, requestlog, web) each say what they own; ARCHITECTURE.md has
the map."""

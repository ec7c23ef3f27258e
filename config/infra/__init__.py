"""Cross-cutting infrastructure every app may import: secret redaction (log filters, error
reports), the per-process local cache, the Prometheus plumbing, gevent detection, DB connection
release and the shared Redis pool.

No business logic lives here, and nothing here imports an app (accounts, providers, catalog,
gateway): import-linter keeps it at the bottom of the layers.
"""

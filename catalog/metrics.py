"""The catalog's Prometheus metrics: per-credential syncs and status checks (`catalog.services`).

The shared plumbing (bounded labels, exposition, the multiprocess setup) is config.infra.metrics.
"""

from prometheus_client import Counter

from config.infra.metrics import OTHER, kind_label
from providers.registry import PROVIDERS

CATALOG_SYNCS = Counter(
    "openprovider_catalog_syncs",
    "Per-credential catalog syncs finished, by provider and result (ok or the error kind).",
    ["provider", "result"],
)
CATALOG_MODELS_CHANGED = Counter(
    "openprovider_catalog_models_changed",
    "Catalog models added, removed (deactivated) or changed by syncs.",
    ["provider", "change"],
)
STATUS_CHECKS = Counter(
    "openprovider_status_checks",
    "Provider status checks finished, by provider and resulting state.",
    ["provider", "state"],
)


def provider_label(slug: str) -> str:
    """A registry slug as a label value; anything else (a custom name) is "other"."""
    if not slug:
        return "none"
    return slug if slug in PROVIDERS else OTHER


def record_sync(provider: str, *, error_kind: str, added: int, removed: int, changed: int) -> None:
    label = provider_label(provider)
    result = kind_label(error_kind) if error_kind else "ok"
    CATALOG_SYNCS.labels(provider=label, result=result).inc()
    for change, count in (("added", added), ("removed", removed), ("changed", changed)):
        if count:
            CATALOG_MODELS_CHANGED.labels(provider=label, change=change).inc(count)


def record_check(provider: str, state: str) -> None:
    STATUS_CHECKS.labels(provider=provider_label(provider), state=kind_label(state)).inc()

"""Every real model listing in tests/fixtures/providers, parsed by its provider's adapter.

The tests check each listing; the same table is the "Catalog on the real listings" report in
bench/README.md: `.venv/bin/python -m tests.providers.fixture_listings` prints it (a test keeps
the README copy current, so a change in what the adapters make of real data shows in review).
"""

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from providers.registry import PROVIDERS
from providers.wire import CATEGORIES, ModelInfo

# Read directly (not through tests.conftest) so the report also runs outside pytest.
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "providers"


def provider_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


CLOUDFLARE_ENTRIES = sorted(p.name for p in (FIXTURES / "cloudflare").glob("model_catalog_*.json"))


def _cloudflare_rows(_: Any) -> list[Any]:
    return [provider_fixture(f"cloudflare/{name}") for name in CLOUDFLARE_ENTRIES]


def _ollama_rows(data: Any) -> list[Any]:
    # /api/tags only: no /api/show answer was captured for these tags, so the names decide
    return [{"name": tag["name"], "show": {}} for tag in data["models"]]


# fixture -> (provider slug, the listing's model rows)
LISTINGS: dict[str, tuple[str, Callable[[Any], list[Any]]]] = {
    "openrouter/models_list.json": ("openrouter", lambda d: d["data"]),
    "openrouter/models_list_output_modalities_all.json": ("openrouter", lambda d: d["data"]),
    "openrouter/models_list_free_subset.json": ("openrouter", lambda d: d["data"]),
    "openrouter/models_list_zero_prompt_completion_but_not_free.json": (
        "openrouter",
        lambda d: d["data"],
    ),
    "groq/models_list.json": ("groq", lambda d: d["data"]),
    "gemini/models_list_native_trimmed.json": ("gemini", lambda d: d["models"]),
    "mistral/models_list.json": ("mistral", lambda d: d["data"]),
    "cerebras/models_list.json": ("cerebras", lambda d: d["data"]),
    "cloudflare/model_catalog_*.json": ("cloudflare", _cloudflare_rows),
    "ollama/api_tags_models_list.json": ("ollama", _ollama_rows),
}


def listing_rows(name: str) -> list[Any]:
    rows = LISTINGS[name][1]
    return rows(None if "*" in name else provider_fixture(name))


def parsed(name: str) -> list[ModelInfo]:
    slug = LISTINGS[name][0]
    spec = PROVIDERS[slug]
    return spec.adapter(spec, api_key="k", account_id="acct").parse_rows(listing_rows(name))


def report_rows() -> list[tuple[Any, ...]]:
    """Per listing: rows listed, models served, free, then free/served per category."""
    rows = []
    for name in LISTINGS:
        models = parsed(name)
        served = Counter(m.category for m in models)
        free = Counter(m.category for m in models if m.free)
        unreadable = sum(m.not_free_reason == "price_unreadable" for m in models)
        per_category = tuple(f"{free[c]}/{served[c]}" for c in CATEGORIES)
        counts = (len(listing_rows(name)), len(models), sum(free.values()))
        rows.append((name, *counts, *per_category, unreadable))
    return rows


def report() -> str:
    header = ("fixture", "listed", "served", "free", *CATEGORIES, "price unreadable")
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["--:"] * (len(header) - 1)) + "|",
    ]
    for name, *counts in report_rows():
        lines.append(f"| `{name}` | " + " | ".join(str(c) for c in counts) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    import os
    import sys

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    sys.stdout.write(report() + "\n")

"""Defensive readers for upstream JSON: wrong types, junk and huge strings never raise.

Every adapter's `parse_model` goes through these, so a provider that changes a field's type
loses that field (None / "" / []) instead of breaking the whole listing.
"""

import base64
import math
import re
from typing import Any

TEXT, VISION, IMAGE, SPEECH = "text", "vision", "image", "speech"
EMBEDDING, TRANSCRIPTION = "embedding", "transcription"
# Why a listed model is not free (ModelInfo.not_free_reason); the sync counts the unreadable ones.
PAID, PRICE_UNREADABLE = "paid", "price_unreadable"

MAX_ID = 250  # CatalogModel.upstream_id
MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_VOICES = 100
MAX_INT = 2**31 - 1  # PositiveIntegerField

_ID_PATTERN = re.compile(r"^[\w.:/@+-]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # NUL breaks PostgreSQL


def model_id(value: Any) -> str | None:
    """An id usable in a URL path and a public id, or None (too long, empty, odd characters)."""
    if not isinstance(value, str):
        return None
    cleaned = value.strip()
    if not cleaned or len(cleaned) > MAX_ID or not _ID_PATTERN.match(cleaned):
        return None
    if ".." in cleaned or cleaned.startswith("/"):
        return None  # ids go into URL paths (Gemini, Cloudflare, Hugging Face)
    return cleaned


def text(value: Any, limit: int = MAX_NAME) -> str:
    """A display string: only real strings, whitespace collapsed, cut to `limit`."""
    if not isinstance(value, str):
        return ""
    return " ".join(_CONTROL.sub("", value).split())[:limit]


def description(value: Any) -> str:
    return text(value, MAX_DESCRIPTION)


def positive_int(value: Any) -> int | None:
    """A positive count (context length, max tokens); bools, junk, <= 0 and overflow are None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"\d{1,12}(\.0+)?", value):
            return None
        value = float(value)
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            return None
        value = int(value)
    if isinstance(value, int) and 0 < value <= MAX_INT:
        return value
    return None


def number(value: Any) -> float | None:
    """A finite number from a number or a numeric string (prices are strings on OpenRouter)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def flag(value: Any) -> bool:
    """True only for a real true: True, "true", "1", "yes" (Cloudflare sends strings)."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in {"true", "1", "yes"}


def strings(value: Any, limit: int = MAX_VOICES) -> list[str]:
    """The string items of a list (lowercase-insensitive callers lower them), capped."""
    if not isinstance(value, list):
        return []
    return [text(item, 100) for item in value if isinstance(item, str) and item.strip()][:limit]


def lowered(value: Any) -> set[str]:
    return {item.lower() for item in strings(value)}


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def category_from_modalities(inputs: set[str], outputs: set[str]) -> str | None:
    """text / vision / image / speech / embedding / transcription from modality lists; None
    when the output is unsupported.

    Empty outputs mean "not stated": the caller decides (usually text).
    """
    if outputs & {"embeddings", "embedding"}:
        return EMBEDDING
    if "transcription" in outputs:
        return TRANSCRIPTION
    if outputs and not outputs & {"text", "image", "speech", "audio"}:
        return None  # rerank, video, music…
    if "image" in outputs:
        return IMAGE
    if outputs & {"speech", "audio"} and "text" not in outputs:
        return SPEECH
    return VISION if "image" in inputs else TEXT


def price_refusal(
    pricing: Any, *, required: tuple[str, ...] = (), labels: frozenset[str] = frozenset()
) -> str:
    """Why a published price mapping does not prove a model free; "" when it does.

    Fail closed: free only when `pricing` is a mapping, every `required` key is in it, at
    least one price is published and every published value is a finite number exactly 0 (an
    empty list or mapping publishes nothing). Anything missing, null, empty, textual,
    negative, non-finite or nested is PRICE_UNREADABLE; readable prices above 0 are PAID.
    `labels` are keys holding text, not a price (Pollinations' "currency").
    """
    if not isinstance(pricing, dict) or any(key not in pricing for key in required):
        return PRICE_UNREADABLE
    prices = []
    for key, value in pricing.items():
        if (key in labels and isinstance(value, str)) or value in ([], {}):
            continue
        price = number(value)
        if price is None or price < 0:
            return PRICE_UNREADABLE
        prices.append(price)
    if not prices:
        return PRICE_UNREADABLE  # nothing published is no proof of a zero price
    return PAID if any(prices) else ""


def capabilities(
    category: str, *, tools: bool = False, structured_output: bool = False
) -> dict[str, bool | None]:
    chat = category in (TEXT, VISION)
    return {
        "tools": chat and tools,
        "structured_output": chat and structured_output,
        "vision": category == VISION,
        "streaming": chat,
    }


def image_count(payload: dict[str, Any], cap: int = 4) -> int:
    """How many images a generate_image payload asks for (`n`), between 1 and `cap`."""
    return min(positive_int(payload.get("n")) or 1, cap)


def b64(value: Any) -> bytes | None:
    """Strictly decoded base64, or None for junk and empty values."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        return None

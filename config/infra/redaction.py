"""Masking secrets (provider keys, opk_live_ keys, bearer tokens, keys in URLs) in any text."""

import re

SECRET_PATTERNS = [
    re.compile(r"opk_live_[A-Za-z0-9_-]+"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\b(?:sk|pk|gsk|csk|nvapi|hf|sk-or-v1)[-_][A-Za-z0-9_-]{8,}"),
    re.compile(r"\bAIza[0-9A-Za-z_-]{20,}"),
    re.compile(r"(?i)(\b(?:key|api_key|apikey|token|access_token)=)[^&\s\"']+"),
    re.compile(
        r"(?i)((?:x-goog-api-key|x-api-key|api-key|authorization)[\"']?\s*[:=]\s*[\"']?)"
        r"(?:(?:basic|bearer|token|digest)\s+)?[^\s\"',}]+"
    ),
]


def redact(text: str) -> str:
    """Mask anything shaped like a key, a bearer token or a key in a URL."""
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.re.groups else "") + "[redacted]", text)
    return text

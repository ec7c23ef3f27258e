"""Model families: one canonical id for the same model served under different ids.

Groq's `llama-3.3-70b-versatile`, OpenRouter's `meta-llama/llama-3.3-70b-instruct:free`, NVIDIA's
`meta/llama-3.3-70b-instruct` and Cloudflare's `@cf/meta/llama-3.3-70b-instruct-fp8-fast` are one
model, `llama-3.3-70b-instruct`. `family_of` strips what a provider adds (its prefixes, `:free`,
`-fp8-fast`, quantization), drops the vendor of a known model maker and spells the rest one way;
everything it does is in the tables below.

A false merge (a request for one model answered by another) is worse than a miss (an operator
merges by hand, catalog.overrides), so the rules only strip what is known to be decoration:
sizes, versions, dates, base vs instruct and vision variants are kept as they are, an unknown
vendor stays part of the id, and moving aliases (`-latest`, OpenRouter's `~` ids) and routers
get no family at all (an empty string). A family id never contains a slash, so it can never be
mistaken for a route's public id (`credential/upstream-id`).
"""

import re

# A provider's own decorations: prefixes, and whole dash-separated words that mean
# nothing about the weights, or that name the variant in the provider's own words.
PROVIDER_PREFIXES: dict[str, tuple[str, ...]] = {
    "cloudflare": ("@cf/", "@hf/"),
    "gemini": ("models/",),
}
PROVIDER_WORDS: dict[str, dict[str, str]] = {
    # Groq serves the instruct models under product names.
    "groq": {"versatile": "instruct", "instant": "instruct"},
    "cloudflare": {"fast": ""},
}
# OpenRouter's `:variant` suffixes that route the same weights differently.
ROUTING_TAGS = frozenset({"free", "batch", "nitro", "floor"})
# Vendors whose own models these are: dropped from the id, so a provider that omits the vendor
# (Groq, Cerebras) or spells it differently (meta vs meta-llama) still meets the others.
MODEL_MAKERS = frozenset(
    {
        "meta-llama",
        "meta",
        "openai",
        "google",
        "qwen",
        "deepseek-ai",
        "deepseek",
        "mistralai",
        "moonshotai",
        "z-ai",
        "zai-org",
        "microsoft",
        "nvidia",
        "ibm-granite",
        "black-forest-labs",
    }
)
# Vendors whose listed ids are routers or aliases, never one model.
ROUTER_VENDORS = frozenset({"openrouter"})
# A vendor written into the model name: `Meta-Llama-3.1-8B-Instruct`, Cerebras' `zai-glm-4.7`.
NAME_PREFIXES = {"meta-llama-": "llama-", "zai-glm-": "glm-"}
# Model lines written both `qwen2.5` and `qwen-2.5`: the version always gets its dash.
VERSIONED_LINES = re.compile(r"^(llama|qwen|gemma|phi|granite|olmo|glm)(\d)")
# Words that mean the same variant everywhere.
VARIANT_WORDS = {"it": "instruct"}
# Quantization and file formats: the same weights, stored smaller.
QUANTIZATION = re.compile(
    r"^(fp\d+|bf16|nvfp4|mxfp4|int\d+|awq|gptq|gguf|mlx|w\d+a\d+|q\d(_k(_[sml])?|_\d)?)$"
)
MOVING_ALIASES = frozenset({"latest"})
MAX_FAMILY = 120
_SEPARATORS = re.compile(r"[\s/]+")
_VALID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def family_of(upstream_id: str, *, provider: str) -> str:
    """The canonical family id of a provider's model id; "" when it has none."""
    name = upstream_id.strip().lower()
    if not name or name.startswith("~"):
        return ""
    for prefix in PROVIDER_PREFIXES.get(provider, ()):
        name = name.removeprefix(prefix)
    name, tag = _split_tag(name)
    vendor, _, model = name.rpartition("/") if name.count("/") == 1 else ("", "", name)
    if vendor in ROUTER_VENDORS:
        return ""
    words = _words(f"{model}-{tag}" if tag else model, provider)
    if not words or MOVING_ALIASES & set(words):
        return ""
    if vendor and vendor not in MODEL_MAKERS:
        words.insert(0, vendor)
    family = "-".join(words)
    return family if len(family) <= MAX_FAMILY and _VALID.match(family) else ""


def _split_tag(name: str) -> tuple[str, str]:
    """(name, variant tag) of `name:tag`; routing tags are dropped."""
    name, _, tag = name.partition(":")
    return name, "" if tag in ROUTING_TAGS else tag


def _words(model: str, provider: str) -> list[str]:
    """The model name's words with decorations dropped and variants spelled one way."""
    for prefix, replacement in NAME_PREFIXES.items():
        if model.startswith(prefix):
            model = replacement + model.removeprefix(prefix)
    model = VERSIONED_LINES.sub(r"\1-\2", _SEPARATORS.sub("-", model))
    provider_words = PROVIDER_WORDS.get(provider, {})
    words = []
    for word in model.split("-"):
        word = provider_words.get(word, VARIANT_WORDS.get(word, word))
        if word and not QUANTIZATION.match(word):
            words.append(word)
    return words


def valid_family(value: str) -> bool:
    """Whether an operator's family id has the shape family_of produces."""
    return len(value) <= MAX_FAMILY and bool(_VALID.match(value)) and "/" not in value

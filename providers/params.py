"""Which OpenAI chat parameters each provider honours: one table, applied by every adapter.

A client speaks OpenAI; a provider honours a subset, sometimes under another name. Each row says,
per provider, what happens to a parameter the gateway forwards:

- PASS: sent as is (the provider honours it, or its OpenAI-compatible endpoint takes it);
- a rename (`Rename("random_seed")`): sent under the provider's own name;
- DROP: removed, because the provider rejects or ignores it and the answer does not depend on
  it (an end-user id, a usage flag the provider answers anyway);
- REFUSE: the request is refused with 400 `unsupported_parameter` naming the parameter, because
  the client relies on something the provider cannot do (log probabilities);
- ONE_CHOICE (`n`): n=1 is dropped, n>1 refused: the provider answers one choice only.

The output-token limit is one row: OpenAI has two names for it (`max_tokens`, deprecated, and
`max_completion_tokens`, which LangChain and newer SDKs send) and many servers honour only one
(a llama.cpp server ignores `max_completion_tokens`). Whichever the client sent is sent under
the name the provider honours; when both are sent, `max_completion_tokens` wins, as in OpenAI.

A provider without a row of its own uses DEFAULT: an OpenAI-compatible server, honouring
`max_tokens` under that name. README.md's parameter table is generated from this module
(`markdown_table`) and a test keeps the two equal.
"""

from dataclasses import dataclass
from typing import Any

PASS, DROP, REFUSE, ONE_CHOICE = "pass", "drop", "refuse", "one choice"
OUTPUT_LIMIT = "max_tokens"  # the row of both names, `max_tokens` and `max_completion_tokens`
OUTPUT_LIMIT_NAMES = ("max_completion_tokens", "max_tokens")  # the first wins when both are sent


@dataclass(frozen=True)
class Rename:
    """Sent under the provider's own name."""

    name: str

    def __str__(self) -> str:
        return f"as `{self.name}`"


Rule = str | Rename

# The parameters each row covers, in the documented order; any other forwarded parameter passes.
PARAMETERS = (
    OUTPUT_LIMIT,
    "stop",
    "seed",
    "response_format",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "stream_options",
    "user",
    "n",
    "logprobs",
    "top_logprobs",
)
DEFAULT: dict[str, Rule] = {OUTPUT_LIMIT: Rename("max_tokens")}

# Provider slug -> the rules that differ from DEFAULT (a parameter left out passes).
TABLE: dict[str, dict[str, Rule]] = {
    # Groq documents max_completion_tokens (max_tokens is its deprecated alias); it answers one
    # choice and no log probabilities.
    "groq": {
        OUTPUT_LIMIT: Rename("max_completion_tokens"),
        "n": ONE_CHOICE,
        "logprobs": REFUSE,
        "top_logprobs": REFUSE,
    },
    "gemini": {"user": DROP},
    # Mistral's API refuses fields it does not know; its streams always end with the usage.
    "mistral": {
        "seed": Rename("random_seed"),
        "stream_options": DROP,
        "user": DROP,
        "top_logprobs": REFUSE,
        "logprobs": REFUSE,
    },
    # Cohere's Compatibility API: one generation, no top log probabilities or parallel flag.
    "cohere": {
        "n": ONE_CHOICE,
        "top_logprobs": REFUSE,
        "parallel_tool_calls": DROP,
        "user": DROP,
    },
    "cloudflare": {"n": ONE_CHOICE, "user": DROP},
    "openrouter": {"n": ONE_CHOICE},
    # Ollama's /v1 reads one choice and ignores `n` (a client asking for three would get one).
    "ollama": {"n": ONE_CHOICE},
}


class UnsupportedParameter(ValueError):
    """A parameter the provider cannot honour with the value sent."""

    def __init__(self, param: str) -> None:
        super().__init__(param)
        self.param = param


def rule_for(provider: str, param: str) -> Rule:
    return TABLE.get(provider, {}).get(param, DEFAULT.get(param, PASS))


def refused_param(provider: str, params: dict[str, Any]) -> str | None:
    """The first parameter of `params` this provider refuses with the value sent, or None."""
    for name, value in params.items():
        row = OUTPUT_LIMIT if name in OUTPUT_LIMIT_NAMES else name
        if _refuses(rule_for(provider, row), value):
            return name
    return None


def map_params(provider: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The body for this provider; raises UnsupportedParameter for a refused parameter."""
    param = refused_param(provider, payload)
    if param is not None:
        raise UnsupportedParameter(param)
    body = {name: value for name, value in payload.items() if name not in OUTPUT_LIMIT_NAMES}
    for name in PARAMETERS:
        if name in body and name != OUTPUT_LIMIT:
            _apply(body, name, rule_for(provider, name))
    limit = next((payload[n] for n in OUTPUT_LIMIT_NAMES if payload.get(n) is not None), None)
    if limit is not None:
        body[_target(rule_for(provider, OUTPUT_LIMIT), OUTPUT_LIMIT)] = limit
    return body


def _refuses(rule: Rule, value: Any) -> bool:
    if rule == ONE_CHOICE:
        return bool(value != 1)
    if rule == REFUSE:
        return value not in (None, False)  # `logprobs: false` asks for nothing
    return False


def _apply(body: dict[str, Any], name: str, rule: Rule) -> None:
    value = body.pop(name)
    if rule in (DROP, ONE_CHOICE, REFUSE):  # REFUSE reaches here only with a value asking nothing
        return
    body[_target(rule, name)] = value


def _target(rule: Rule, name: str) -> str:
    return rule.name if isinstance(rule, Rename) else name


# ---- the documented table ------------------------------------------------------------------------
def markdown_table(providers: list[tuple[str, str]]) -> str:
    """README's table: one line per (slug, display name) given, naming what differs from PASS."""
    lines = [
        "| provider | output-token limit sent as | renamed | dropped | refused (400) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for slug, name in providers:
        rules = {param: rule_for(slug, param) for param in PARAMETERS}
        limit = _target(rules.pop(OUTPUT_LIMIT), OUTPUT_LIMIT)
        renamed = [f"`{p}` {r}" for p, r in rules.items() if isinstance(r, Rename)]
        dropped = [f"`{p}`" for p, r in rules.items() if r == DROP]
        dropped += [f"`{p}`: 1" for p, r in rules.items() if r == ONE_CHOICE]
        refused = [f"`{p}`" for p, r in rules.items() if r == REFUSE]
        refused += [f"`{p}` > 1" for p, r in rules.items() if r == ONE_CHOICE]
        cells = [name, f"`{limit}`", *(", ".join(c) or "none" for c in (renamed, dropped, refused))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)

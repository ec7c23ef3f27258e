"""Token counts for answers whose upstream reported no usage: a real tokenizer, offline.

OpenAI's o200k_base encoding (tiktoken) is loaded from the vendored file in `bpe/` (checked
against the SHA-256 tiktoken pins for it), never downloaded. No free model's own tokenizer ships
in a package this project can install, so o200k_base counts for every model; a count it gives
is marked `usage_estimated` in the request log. Chat framing follows OpenAI's published recipe
(openai-cookbook "How to count tokens with tiktoken"): a few tokens per message and three that
prime the reply, so a prompt's count lands near what the upstream would have billed.

The encoding is loaded on first use (about 1.5 s and 85 MB), so only a process that meets an
upstream without usage pays for it; most providers report usage when asked.
"""

import base64
import functools
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import tiktoken

BPE_FILE = Path(__file__).with_name("bpe") / "o200k_base.tiktoken"
BPE_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
# tiktoken_ext.openai_public.o200k_base's split pattern and special tokens.
PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
SPECIAL_TOKENS = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3


@functools.cache
def encoding() -> tiktoken.Encoding:
    """o200k_base from the vendored file; ValueError if the file is not the pinned one."""
    data = BPE_FILE.read_bytes()
    if hashlib.sha256(data).hexdigest() != BPE_SHA256:
        raise ValueError(f"{BPE_FILE} is not OpenAI's o200k_base file")
    ranks = {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in data.splitlines() if line)
    }
    return tiktoken.Encoding(
        name="o200k_base",
        pat_str=PATTERN,
        mergeable_ranks=ranks,
        special_tokens=SPECIAL_TOKENS,
    )


def count_tokens(text: str) -> int:
    """Tokens in `text`; text that spells a special token counts as plain text."""
    return len(encoding().encode_ordinary(text)) if text else 0


def prompt_tokens(messages: Iterable[dict[str, Any]], tools: Any = None) -> int:
    """A chat prompt's tokens: each message's text, role and tool calls with OpenAI's framing,
    the tool definitions as JSON. Images are not counted."""
    total = REPLY_PRIMING_TOKENS
    for message in messages:
        total += TOKENS_PER_MESSAGE + count_tokens(str(message.get("role") or ""))
        total += count_tokens(_message_text(message))
        if message.get("name"):
            total += TOKENS_PER_NAME + count_tokens(str(message["name"]))
    if tools:
        total += count_tokens(json.dumps(tools, separators=(",", ":")))
    return total


def estimated_usage(*, prompt: int, completion_texts: Iterable[str]) -> dict[str, int]:
    """OpenAI's usage object from a prompt count and the texts the model produced."""
    completion = sum(count_tokens(text) for text in completion_texts)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(
            part.get("text") or ""
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    calls = message.get("tool_calls")
    text = content if isinstance(content, str) else ""
    return text + (json.dumps(calls, separators=(",", ":")) if calls else "")

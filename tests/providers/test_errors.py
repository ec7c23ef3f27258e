"""Every non-2xx status maps to one kind, retry flag and message, through an adapter call."""

import pytest

from providers.errors import ProviderError

from .conftest import make_adapter

BASE = "https://api.groq.com/openai/v1"

STATUSES = [
    (400, "bad_request", False, "upstream rejected the request: nope"),
    (401, "auth", True, "authentication failed: nope"),
    (402, "unavailable", True, "payment required: nope"),
    (403, "auth", True, "authentication failed: nope"),
    (404, "not_found", True, "not found: nope"),
    (408, "upstream", True, "upstream error: nope"),
    (409, "upstream", True, "upstream error: nope"),
    (410, "unavailable", True, "gone (retired): nope"),
    (418, "bad_request", False, "upstream rejected the request: nope"),
    (422, "bad_request", False, "upstream rejected the request: nope"),
    (429, "rate_limited", True, "rate limited: nope"),
    (500, "upstream", True, "upstream error: nope"),
    (503, "upstream", True, "upstream error: nope"),
    (307, "upstream", True, "upstream redirected; not followed"),
]


@pytest.mark.parametrize(("status", "kind", "retryable", "message"), STATUSES)
def test_each_status_has_its_kind_retry_flag_and_message(
    http_mock, status, kind, retryable, message
):
    http_mock.get(f"{BASE}/models", status=status, json={"error": {"message": "nope"}}, headers={})

    with pytest.raises(ProviderError) as caught:
        make_adapter("groq").check()

    error = caught.value
    assert (error.kind, error.retryable, error.message, error.status) == (
        kind,
        retryable,
        message,
        status,
    )


def test_only_a_rate_limit_carries_a_retry_hint(http_mock):
    http_mock.get(f"{BASE}/models", status=503, headers={"retry-after": "7"}, json={})
    http_mock.get(f"{BASE}/models", status=429, headers={"retry-after": "7"}, json={})
    adapter = make_adapter("groq")

    hints = []
    for _ in range(2):
        with pytest.raises(ProviderError) as caught:
            adapter.check()
        hints.append(caught.value.retry_after)

    assert hints == [None, 7.0]

"""The generic fallback loop: try candidate routes in order until one answers.

The same rules as the chat path (gateway/chat/service.py): a retryable upstream failure is recorded
on the request context, cools the route down through gateway.routing.cooldowns, and the next
candidate is tried within GATEWAY_MAX_ATTEMPTS and GATEWAY_TOTAL_DEADLINE_SECONDS; a 400 caused by
the request itself is answered at once, never retried elsewhere. Used by the media workflows;
written so the chat path can adopt it unchanged.
"""

import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings

from catalog.models import CatalogModel
from config.infra.redaction import redact
from gateway.api.errors import ApiError
from gateway.routing.candidates import no_model, rate_limited_upstream, route_of
from gateway.routing.context import ChatContext, failure_reason
from gateway.routing.cooldowns import route_record_failure, route_record_success
from gateway.routing.quota import quota_day_left, quota_record_hints, quota_reserve
from providers.errors import ProviderError
from providers.ratelimits import take_answer_hints
from providers.registry import PROVIDERS
from providers.services import credential_mark_auth_failed

T = TypeVar("T")


def run_with_fallback(
    ctx: ChatContext, candidates: list[CatalogModel], call: Callable[[CatalogModel], T]
) -> tuple[CatalogModel, T]:
    """The first candidate whose `call` succeeds, with its result; ApiError when none does."""
    deadline = ctx.started + settings.GATEWAY_TOTAL_DEADLINE_SECONDS
    failures: list[ProviderError] = []
    for model in candidates:
        if time.monotonic() >= deadline:
            break
        began = time.monotonic()
        spent_until = quota_reserve(model)
        if spent_until is not None:  # another request took the last call of the budget
            failures.append(budget_spent(ctx, model, began, spent_until))
            continue
        try:
            result = call(model)
        except ProviderError as error:
            quota_record_hints(model, error.hints or take_answer_hints())
            ctx.record_attempt(model, began, error)
            if error.kind == "auth":
                credential_mark_auth_failed(credential_id=model.credential_id)
            charges = PROVIDERS[model.provider].charges_failed_calls
            day_left = error.kind == "rate_limited" and quota_day_left(model)
            route_record_failure(
                route_of(model), error, charges_failures=charges, day_left=day_left
            )
            failures.append(error)
            if error.kind == "bad_request":
                raise upstream_bad_request(ctx, error) from None
            continue
        quota_record_hints(model, take_answer_hints())
        ctx.record_attempt(model, began)
        route_record_success(route_of(model), (time.monotonic() - began) * 1000)
        return model, result
    raise exhausted(ctx, failures, timed_out=time.monotonic() >= deadline)


def budget_spent(
    ctx: ChatContext, model: CatalogModel, began: float, until: float
) -> ProviderError:
    """The route's known budget is spent: not called, recorded as a rate limit."""
    error = ProviderError(
        "rate limited: the known budget is spent",
        kind="rate_limited",
        retry_after=max(until - time.time(), 0.0),
    )
    ctx.record_attempt(model, began, error)
    return error


def upstream_bad_request(ctx: ChatContext, error: ProviderError) -> ApiError:
    reason = failure_reason(error).removeprefix("upstream rejected the request: ")
    return ApiError(
        f"The provider rejected the request: {reason}",
        status=400,
        code="upstream_bad_request",
        extra={"attempts": ctx.public_attempts()},
    )


def exhausted(ctx: ChatContext, failures: list[ProviderError], *, timed_out: bool) -> ApiError:
    """429 if every failure was a rate limit, 504 on timeout, 502 otherwise."""
    extra = {"attempts": ctx.public_attempts()}
    if failures and all(f.kind == "rate_limited" for f in failures):
        wait = min(f.retry_after or settings.GATEWAY_COOLDOWN_SECONDS for f in failures)
        error = rate_limited_upstream(wait, "Every candidate model is rate limited upstream.")
        error.extra = extra
        return error
    if failures and all(f.kind == "auth" for f in failures):
        return ApiError(
            "Every candidate's provider rejected its key (401/403); the key is marked "
            "auth_failed: enter it again on the providers page.",
            status=502,
            code="upstream_auth_failed",
            extra=extra,
        )
    if failures and all(f.kind == "unreadable" for f in failures):
        # No candidate's stored key could be decrypted; nothing was sent upstream.
        error = no_model(
            "No candidate model has a usable provider key: the stored key cannot be decrypted. "
            "Enter the key again on the providers page."
        )
        error.extra = extra
        return error
    tried = attempts_summary(ctx)
    if timed_out or not failures or failures[-1].kind == "timeout":
        return ApiError(
            f"The upstream provider timed out{tried}.",
            status=504,
            code="upstream_timeout",
            extra=extra,
        )
    if all(f.kind == "invalid_response" for f in failures):
        return ApiError(
            f"Every candidate answered with an invalid response{tried}.",
            status=502,
            code="upstream_invalid_response",
            extra=extra,
        )
    return ApiError(
        f"Every candidate failed upstream{tried}.", status=502, code="upstream_error", extra=extra
    )


def attempts_summary(ctx: ChatContext) -> str:
    """` (2 attempts: a via groq: HTTP 503; b via homelab: could not connect to upstream:
    connection refused)`: each attempt's model, provider and short reason, already sanitized."""
    failed = [a for a in ctx.attempts if a["model"] and a["status"] != "ok"]
    if not failed:
        return ""
    reasons = "; ".join(f"{a['model']} via {a['provider']}: {short_reason(a)}" for a in failed)
    count = f"{len(failed)} attempt" + ("s" if len(failed) > 1 else "")
    return f" ({count}: {redact(reasons)})"


def short_reason(attempt: dict[str, Any]) -> str:
    if attempt["http_status"]:
        return f"HTTP {attempt['http_status']}"
    if attempt["status"] == "timeout":
        return "timeout"
    return str(attempt["reason"])

"""JSON log lines carry the request id (and a Celery task's id); secrets are redacted
on every handler, at DEBUG too."""

import io
import json
import logging
import uuid

import pytest
import responses
from django.conf import settings

from catalog.tasks import catalog_sync_credential_task
from config.infra.logfilters import RedactMessageFilter, RedactSecretsFilter
from config.infra.redaction import redact
from tests.gateway.conftest import GROQ_CHAT, HELLO, groq_completion

PROVIDER_CANARY = f"sk-canary-{uuid.uuid4().hex}"
GEMINI_CANARY = "AIzaSyCanary" + uuid.uuid4().hex[:24]


@pytest.fixture
def json_lines():
    """Every line the configured root handler writes, at DEBUG, parsed as JSON."""
    root = logging.getLogger()
    (configured,) = [
        h for h in root.handlers if any(isinstance(f, RedactSecretsFilter) for f in h.filters)
    ]
    buffer = io.StringIO()
    capture = logging.StreamHandler(buffer)
    capture.setFormatter(configured.formatter)
    for log_filter in configured.filters:
        capture.addFilter(log_filter)
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines() if line]
    finally:
        root.removeHandler(capture)
        root.setLevel(level)


@pytest.mark.parametrize(
    "secret",
    [
        "opk_live_AbCdEf0123456789xyz",
        PROVIDER_CANARY,
        "gsk_0123456789abcdefABCDEF",
        GEMINI_CANARY,
        "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
        "https://x.test/v1/models?key=plain-secret-value",
        "calling with key=plain-secret-value now",
        '{"authorization": "Basic dXNlcjpwYXNz"}',
        "x-goog-api-key: plain-secret-value",
    ],
)
def test_every_secret_shape_is_redacted(secret):
    out = redact(f"before {secret} after")

    assert "[redacted]" in out
    for token in (
        "opk_live_AbCd",
        PROVIDER_CANARY,
        GEMINI_CANARY,
        "plain-secret",
        "eyJhbG",
        "dXNlcj",
    ):
        assert token not in out


def test_every_handler_of_every_logger_redacts():
    """A handler without a redaction filter would print secrets the others hide."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    unfiltered = [
        (logger.name, type(handler).__name__)
        for logger in loggers
        for handler in logger.handlers
        if not isinstance(handler, logging.NullHandler)
        and not type(handler).__module__.startswith("_pytest")
        and not any(isinstance(f, RedactMessageFilter) for f in handler.filters)
    ]

    assert unfiltered == []
    assert settings.LOGGING["handlers"]["console"]["formatter"] == "json"


def test_redaction_covers_extras_and_tracebacks(json_lines):
    logger = logging.getLogger("providers.adapter")
    try:
        raise RuntimeError(f"upstream echoed {PROVIDER_CANARY}")
    except RuntimeError:
        logger.exception(
            "call failed with key=%s",
            GEMINI_CANARY,
            extra={
                "headers": {"Authorization": f"Bearer {PROVIDER_CANARY}"},
                "url": f"/m?key={GEMINI_CANARY}",
            },
        )

    (line,) = json_lines()
    text = json.dumps(line)
    assert PROVIDER_CANARY not in text
    assert GEMINI_CANARY not in text
    assert "RuntimeError" in line["exc_info"]
    assert line["headers"] == {"Authorization": "[redacted]"}


@pytest.mark.django_db
def test_every_line_of_a_failing_v1_request_has_its_request_id_and_no_secret(
    json_lines, api_client, created_key, groq_model, monkeypatch
):
    def explode(ctx, request, model):
        logging.getLogger("providers.adapter").debug("upstream said key=%s", PROVIDER_CANARY)
        logging.getLogger("catalog.services").info("route of %s", created_key.plaintext)
        raise RuntimeError(f"boom {PROVIDER_CANARY} Bearer {created_key.plaintext} {GEMINI_CANARY}")

    monkeypatch.setattr("gateway.chat.service.complete_on", explode)

    response = api_client.post(
        f"/v1/chat/completions?key={GEMINI_CANARY}",
        {"model": groq_model.public_id, "messages": HELLO},
        format="json",
    )

    assert response.status_code == 500
    lines = json_lines()
    names = {line["name"] for line in lines}
    assert {
        "providers.adapter",
        "catalog.services",
        "gateway.api.errors",
        "django.request",
    } <= names
    assert {line["request_id"] for line in lines} == {response["x-request-id"]}
    text = "\n".join(json.dumps(line) for line in lines)
    for secret in (PROVIDER_CANARY, GEMINI_CANARY, created_key.plaintext):
        assert secret not in text
    (error,) = [line for line in lines if line["name"] == "gateway.api.errors"]
    assert "RuntimeError: boom [redacted]" in error["exc_info"]


@pytest.mark.django_db
def test_a_successful_streaming_request_logs_with_its_request_id(
    json_lines, api_client, groq_model, http_mock
):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())
    logging.getLogger("gateway").info("before the request")

    response = api_client.post(
        "/v1/chat/completions", {"model": groq_model.public_id, "messages": HELLO}, format="json"
    )
    logging.getLogger("gateway").info("inside the request's context, after its response")

    assert response.status_code == 200
    lines = json_lines()
    assert lines[0]["request_id"] != response["x-request-id"]
    assert lines[-1]["request_id"] == response["x-request-id"]


@pytest.mark.django_db
def test_task_log_lines_carry_the_task_id(json_lines, custom_credential_for_logs, monkeypatch):
    monkeypatch.setattr("catalog.services.adapter_for", lambda credential: FailingListing())

    result = catalog_sync_credential_task.apply(
        args=[custom_credential_for_logs.pk], task_id="task-abc-123"
    )

    assert result.get() == "failed"
    task_lines = [line for line in json_lines() if line["name"] == "catalog.services"]
    assert task_lines
    assert {line.get("task_id") for line in task_lines} == {"task-abc-123"}
    assert all(PROVIDER_CANARY not in json.dumps(line) for line in task_lines)


class FailingListing:
    def list_models(self):
        from providers.errors import ProviderError

        raise ProviderError(
            f"listing failed for key {PROVIDER_CANARY}", kind="upstream", status=502
        )


@pytest.fixture
def custom_credential_for_logs(workspace):
    from providers.models import ProviderCredential

    return ProviderCredential.objects.create(
        workspace=workspace,
        provider="custom",
        name="logs",
        api_key="",
        base_url="http://llm.test/v1",
    )

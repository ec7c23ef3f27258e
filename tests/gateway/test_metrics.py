"""GET /metrics: protected from the public; requests, errors, latency, fallbacks and cooldowns."""

import pytest
import responses
from django.test import Client

from catalog.metrics import provider_label
from config.infra import metrics as infra_metrics
from gateway import metrics
from tests.gateway.conftest import ALT_CHAT, GROQ_CHAT, HELLO, groq_completion
from tests.metrics_support import METRICS_TOKEN, sample, scrape

pytestmark = pytest.mark.django_db

AUTO = {"model": "openprovider/auto-free", "messages": HELLO}


@pytest.fixture
def metrics_token(settings) -> str:
    settings.OPENPROVIDER_METRICS_TOKEN = METRICS_TOKEN
    return METRICS_TOKEN


def test_metrics_is_absent_to_the_public_when_no_token_is_configured(settings, client):
    settings.OPENPROVIDER_METRICS_TOKEN = ""

    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token", f"Basic {METRICS_TOKEN}", f"Bearer {METRICS_TOKEN}x", "Bearer"],
)
def test_metrics_wants_the_exact_bearer_token(metrics_token, client, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}

    response = client.get("/metrics", **extra)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"openprovider_" not in response.content


def test_an_api_key_does_not_open_metrics(metrics_token, created_key):
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {created_key.plaintext}")

    assert response.status_code == 401


def test_staff_sessions_see_metrics_and_other_users_do_not(settings, user, other_user):
    settings.OPENPROVIDER_METRICS_TOKEN = ""
    other_user.is_staff = True
    other_user.save()
    staff, member = Client(), Client()
    staff.force_login(other_user)
    member.force_login(user)

    assert member.get("/metrics").status_code == 404
    response = staff.get("/metrics")
    assert response.status_code == 200
    assert b"openprovider_requests_total" in response.content


def test_the_token_is_compared_in_constant_time(metrics_token, monkeypatch):
    compared = []
    real = infra_metrics.hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(infra_metrics.hmac, "compare_digest", spy)

    assert infra_metrics.token_matches(f"Bearer {METRICS_TOKEN}")
    assert not infra_metrics.token_matches("Bearer nope")
    assert len(compared) == 2


def test_a_chat_request_moves_requests_latency_and_attempts(
    metrics_token, client, api_client, groq_model, http_mock
):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())
    labels = {
        "route": "chat",
        "status": "success",
        "status_class": "2xx",
        "provider": "groq",
        "model": f"groq/{groq_model.upstream_id}",
    }
    before = scrape(client)

    response = api_client.post(
        "/v1/chat/completions", {"model": groq_model.public_id, "messages": HELLO}, format="json"
    )

    assert response.status_code == 200
    after = scrape(client)
    assert sample(after, "openprovider_requests_total", **labels) == (
        sample(before, "openprovider_requests_total", **labels) + 1
    )
    count = "openprovider_request_duration_seconds_count"
    assert sample(after, count, route="chat") == sample(before, count, route="chat") + 1
    attempts = "openprovider_upstream_attempts_total"
    assert sample(after, attempts, route="chat", outcome="ok") == (
        sample(before, attempts, route="chat", outcome="ok") + 1
    )


def test_a_fallback_moves_fallbacks_errors_and_cooldowns(
    metrics_token, client, api_client, groq_model, alt_model, http_mock
):
    http_mock.add(responses.POST, GROQ_CHAT, status=429, json={}, headers={"retry-after": "30"})
    http_mock.add(responses.POST, ALT_CHAT, json=groq_completion())
    before = scrape(client)

    response = api_client.post("/v1/chat/completions", AUTO, format="json")

    assert response.status_code == 200
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert moved("openprovider_fallbacks_total", route="chat") == 1
    assert moved("openprovider_upstream_attempts_total", route="chat", outcome="rate_limited") == 1
    assert moved("openprovider_route_cooldowns_total", reason="rate_limited_minute") == 1
    assert moved("openprovider_requests_total", route="chat", status="success") == 1


def test_an_error_is_counted_by_its_code(metrics_token, client, api_client, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, status=429, json={}, headers={"retry-after": "5"})
    before = scrape(client)

    response = api_client.post(
        "/v1/chat/completions", {"model": groq_model.public_id, "messages": HELLO}, format="json"
    )

    assert response.status_code == 429
    after = scrape(client)
    name, labels = "openprovider_request_errors_total", {"route": "chat"}
    code = response.json()["error"]["code"]
    assert sample(after, name, code=code, **labels) == sample(before, name, code=code, **labels) + 1
    errors = "openprovider_requests_total"
    assert sample(after, errors, status_class="4xx", status="error") >= 1


def test_metrics_never_name_workspaces_keys_or_credentials(
    metrics_token, client, api_client, created_key, groq_model, http_mock
):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())
    api_client.post(
        "/v1/chat/completions", {"model": groq_model.public_id, "messages": HELLO}, format="json"
    )

    text = scrape(client)

    assert created_key.plaintext not in text
    assert created_key.plaintext[:20] not in text
    assert "ada@example.com" not in text


def test_label_values_are_bounded():
    label = infra_metrics.BoundedLabel(limit=3)

    values = [label(f"model-{i}") for i in range(10)]

    assert values[:3] == ["model-0", "model-1", "model-2"]
    assert set(values[3:]) == {"other"}
    assert label("model-1") == "model-1"
    assert provider_label("groq") == "groq"
    assert provider_label("made-up-provider") == "other"


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/v1/chat/completions", "chat"),
        ("/v1/images/generations", "images"),
        ("/v1/images/analyze", "image_analyze"),
        ("/v1/audio/speech", "speech"),
        ("/v1/models", "api_other"),
        ("/chat/send", "console_chat"),
        ("/playground/speech", "console_speech"),
        ("/admin/", "other"),
    ],
)
def test_route_kinds(path, kind):
    assert metrics.route_kind(path) == kind

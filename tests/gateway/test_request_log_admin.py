"""Admin: the request log and the console's conversations, read-only, searchable by request id,
with every upstream attempt of a request on its page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Conversation, Message, User
from gateway.models import RequestLog

pytestmark = pytest.mark.django_db

ATTEMPTS = [
    {
        "provider": "groq",
        "model": "groq/llama-3.1-8b-instant",
        "status": "rate_limited",
        "http_status": 429,
        "reason": "HTTP 429",
        "ms": 41,
    },
    {
        "provider": "mistral",
        "model": "mistral/mistral-small",
        "status": "ok",
        "http_status": None,
        "reason": "",
        "ms": 380,
    },
]


@pytest.fixture
def admin_client(client, db):
    root = User.objects.create_superuser("root@example.com", password="admin passphrase")
    client.force_login(root)
    return client


@pytest.fixture
def log(workspace) -> RequestLog:
    return RequestLog.objects.create(
        id="gen-admin-fallback-0001",
        workspace=workspace,
        endpoint="chat/completions",
        requested_model="openprovider/auto-free",
        served_model="mistral/mistral-small",
        provider="mistral",
        status="success",
        http_status=200,
        attempts=ATTEMPTS,
        latency_ms=421,
        prompt_tokens=12,
        completion_tokens=30,
        total_tokens=42,
    )


@pytest.fixture
def other_log(other_user) -> RequestLog:
    return RequestLog.objects.create(
        id="gen-admin-other-0002",
        workspace=other_user.workspace,
        endpoint="embeddings",
        requested_model="gemini/text-embedding-004",
        provider="gemini",
        status="error",
        http_status=503,
        created_at=timezone.now() - timedelta(days=3),
    )


def test_the_list_shows_each_request_with_its_outcome(admin_client, log, other_log):
    page = admin_client.get("/admin/gateway/requestlog/").content.decode()

    assert log.id in page
    assert other_log.id in page
    assert "mistral/mistral-small" in page
    assert "421" in page  # latency
    assert "42" in page  # tokens


def test_search_finds_a_request_by_its_exact_id(admin_client, log, other_log):
    page = admin_client.get("/admin/gateway/requestlog/", {"q": log.id}).content.decode()

    assert log.id in page
    assert other_log.id not in page


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ({"status__exact": "error"}, "other", "log"),
        ({"provider": "mistral"}, "log", "other"),
        ({"served_model": "mistral/mistral-small"}, "log", "other"),
        ({"endpoint": "embeddings"}, "other", "log"),
        ({"created_at__gte": "{yesterday}"}, "log", "other"),
    ],
)
def test_filters_narrow_the_list(admin_client, log, other_log, query, shown, hidden):
    rows = {"log": log.id, "other": other_log.id}
    yesterday = (timezone.now() - timedelta(days=1)).isoformat()
    query = {k: v.format(yesterday=yesterday) for k, v in query.items()}

    page = admin_client.get("/admin/gateway/requestlog/", query).content.decode()

    assert rows[shown] in page
    assert rows[hidden] not in page


def test_the_workspace_filter_narrows_to_one_workspace(admin_client, log, other_log):
    url = "/admin/gateway/requestlog/"
    page = admin_client.get(url, {"workspace__id__exact": log.workspace_id}).content.decode()

    assert log.id in page
    assert other_log.id not in page


def test_a_request_page_shows_every_upstream_attempt_in_order(admin_client, log):
    page = admin_client.get(f"/admin/gateway/requestlog/{log.pk}/change/").content.decode()

    assert page.count("<tr data-attempt>") == 2
    assert page.index("groq/llama-3.1-8b-instant") < page.index("mistral/mistral-small</td>")
    assert "HTTP 429" in page
    assert "rate_limited" in page


def test_the_request_log_is_read_only(admin_client, log):
    change = admin_client.post(
        f"/admin/gateway/requestlog/{log.pk}/change/", {"status": "error", "provider": "x"}
    )
    delete = admin_client.post(f"/admin/gateway/requestlog/{log.pk}/delete/", {"post": "yes"})
    add = admin_client.get("/admin/gateway/requestlog/add/")

    log.refresh_from_db()
    assert change.status_code == 403
    assert delete.status_code == 403
    assert add.status_code == 403
    assert (log.status, log.provider) == ("success", "mistral")


def test_a_request_refused_before_routing_says_so(admin_client, workspace):
    refused = RequestLog.objects.create(
        id="gen-refused-0003", workspace=workspace, endpoint="chat/completions", status="error"
    )

    page = admin_client.get(f"/admin/gateway/requestlog/{refused.pk}/change/").content.decode()

    assert "No upstream attempt" in page


def test_a_plain_user_cannot_open_the_request_log(client, user, log):
    client.force_login(user)

    response = client.get("/admin/gateway/requestlog/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.fixture
def conversation(workspace, user) -> Conversation:
    conversation = Conversation.objects.create(workspace=workspace, user=user, title="Trip plan")
    Message.objects.create(conversation=conversation, role="user", content="Where to?")
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="Lisbon.",
        model_id="mistral/mistral-small",
        provider="mistral",
        request_id="gen-conversation-answer-1",
    )
    return conversation


def test_conversations_are_listed_with_their_message_counts(admin_client, conversation):
    page = admin_client.get("/admin/accounts/conversation/").content.decode()

    assert "Trip plan" in page
    assert '<td class="field-message_count">2</td>' in page


def test_a_conversation_is_found_by_the_request_id_of_an_answer(admin_client, conversation):
    other = Conversation.objects.create(workspace=conversation.workspace, title="Other chat")

    url = "/admin/accounts/conversation/"
    page = admin_client.get(url, {"q": "gen-conversation-answer-1"}).content.decode()

    assert "Trip plan" in page
    assert other.title not in page


def test_a_conversation_page_shows_its_messages_and_changes_nothing(admin_client, conversation):
    url = f"/admin/accounts/conversation/{conversation.pk}/change/"

    page = admin_client.get(url).content.decode()
    posted = admin_client.post(url, {"title": "renamed"})

    assert "Where to?" in page
    assert "gen-conversation-answer-1" in page
    assert posted.status_code == 403
    conversation.refresh_from_db()
    assert conversation.title == "Trip plan"

"""The chat console: streamed answers over the session endpoint, persistence, isolation, safety."""

import json
from typing import Any
from unittest import mock

import pytest
import responses
from django.db import connection

from accounts.models import Conversation, Message
from gateway.models import RequestLog
from tests.gateway.conftest import make_credential, make_model, sse

pytestmark = pytest.mark.django_db

BASE = "https://relay.test/v1"
CHAT = f"{BASE}/chat/completions"
BACKUP_BASE = "https://backup.test/v1"
BACKUP_CHAT = f"{BACKUP_BASE}/chat/completions"
STREAM_HEADERS = {"HTTP_ACCEPT": "text/event-stream"}


def chunk(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    delta = {"content": content} if content is not None else {}
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def answer_stream(*parts: str) -> bytes:
    return sse([*(chunk(p) for p in parts), chunk(finish="stop"), "[DONE]"])


def events(response) -> list[dict[str, Any]]:
    body = b"".join(response.streaming_content).decode()
    return [json.loads(e[len("data: ") :]) for e in body.split("\n\n") if e.startswith("data: ")]


@pytest.fixture
def relay(workspace):
    return make_credential(workspace, "custom", "relay", base_url=BASE)


@pytest.fixture
def relay_model(relay):
    return make_model(relay, "chat-1")


@pytest.fixture
def backup_model(workspace):
    backup = make_credential(workspace, "custom", "backup", base_url=BACKUP_BASE)
    return make_model(backup, "chat-2")


def send(client, content="Hello there", model="openprovider/auto-free", **extra):
    data = {"content": content, "model": model, **extra}
    return client.post("/chat/send", data, **STREAM_HEADERS)


def test_a_streamed_answer_arrives_as_deltas_and_is_saved_complete(
    client_in, relay_model, http_mock
):
    http_mock.add(
        responses.POST,
        CHAT,
        body=answer_stream("Hi", " **there**"),
        content_type="text/event-stream",
    )

    response = send(client_in, model=relay_model.public_id)

    assert response["Content-Type"] == "text/event-stream"
    received = events(response)
    assert [e["type"] for e in received] == ["start", "served", "delta", "delta", "done"]
    assert "".join(e["text"] for e in received if e["type"] == "delta") == "Hi **there**"
    done = received[-1]["message"]
    assert done["status"] == "complete"
    assert done["model"] == relay_model.public_id
    assert done["provider"] == "relay"
    assert "<strong>there</strong>" in done["html"]
    conversation = Conversation.objects.get(pk=received[0]["conversation"])
    assert received[0]["url"] == f"/chat/{conversation.pk}/"
    assert conversation.title == "Hello there"
    saved = list(conversation.messages.values_list("role", "content", "status"))
    assert saved == [("user", "Hello there", "complete"), ("assistant", "Hi **there**", "complete")]


def test_the_user_message_is_stored_before_the_upstream_call(client_in, relay_model, http_mock):
    seen: list[list[str]] = []

    def upstream(request):
        seen.append(list(Message.objects.values_list("content", flat=True)))
        return 200, {"Content-Type": "text/event-stream"}, answer_stream("ok")

    http_mock.add_callback(responses.POST, CHAT, callback=upstream)

    events(send(client_in, content="remember me", model=relay_model.public_id))

    assert seen == [["remember me"]]


def test_the_chat_goes_through_the_gateway_as_web_traffic(client_in, relay_model, http_mock):
    http_mock.add(responses.POST, CHAT, body=answer_stream("ok"), content_type="text/event-stream")

    received = events(send(client_in, model=relay_model.public_id))

    log = RequestLog.objects.get(pk=received[0]["request_id"])
    assert log.source == "web"
    assert log.api_key is None
    assert log.served_model == relay_model.public_id


def test_earlier_turns_are_sent_as_context(client_in, conversation, relay_model, http_mock):
    Message.objects.create(conversation=conversation, role="user", content="first question")
    Message.objects.create(conversation=conversation, role="assistant", content="first answer")
    Message.objects.create(conversation=conversation, role="assistant", content="x", status="error")
    http_mock.add(responses.POST, CHAT, body=answer_stream("ok"), content_type="text/event-stream")

    events(send(client_in, "second", relay_model.public_id, conversation=conversation.pk))

    sent = json.loads(http_mock.calls[0].request.body)["messages"]
    assert [m["content"] for m in sent] == ["first question", "first answer", "second"]


def test_a_fallback_is_reported_with_the_answer(client_in, relay_model, backup_model, http_mock):
    calls: list[str] = []

    def first_fails(request):
        calls.append(request.url)
        if len(calls) == 1:
            return 429, {"Content-Type": "application/json"}, '{"error":{"message":"slow"}}'
        return 200, {"Content-Type": "text/event-stream"}, answer_stream("ok")

    http_mock.add_callback(responses.POST, CHAT, callback=first_fails)
    http_mock.add_callback(responses.POST, BACKUP_CHAT, callback=first_fails)

    received = events(send(client_in, model="openprovider/auto-free"))

    done = received[-1]["message"]
    first, second = done["attempts"]
    assert (first["status"], second["status"]) == ("rate_limited", "ok")
    assert done["model"] == second["model"] != first["model"]
    page = client_in.get(received[0]["url"]).content.decode()
    assert f"Fell back from: {first['model']} (rate_limited" in page


def test_a_failure_before_any_text_saves_an_error_message(client_in, relay_model, http_mock):
    http_mock.add(responses.POST, CHAT, status=503, json={"error": {"message": "down"}})

    received = events(send(client_in, model=relay_model.public_id))

    done = received[-1]["message"]
    assert [e["type"] for e in received] == ["start", "done"]
    assert done["status"] == "error"
    assert done["html"] == ""
    assert "failed upstream" in done["error"]
    assert Message.objects.get(role="assistant").status == Message.Status.ERROR


def test_a_stream_that_breaks_after_text_is_saved_incomplete(client_in, relay_model, http_mock):
    broken = sse([chunk("Partial"), {"error": {"message": "overloaded"}}])
    http_mock.add(responses.POST, CHAT, body=broken, content_type="text/event-stream")

    received = events(send(client_in, model=relay_model.public_id))

    assert received[-1]["message"]["status"] == "incomplete"
    message = Message.objects.get(role="assistant")
    assert (message.content, message.status) == ("Partial", Message.Status.INCOMPLETE)


def test_a_stopped_stream_saves_what_arrived_as_incomplete(client_in, relay_model, http_mock):
    http_mock.add(
        responses.POST, CHAT, body=answer_stream("one", "two"), content_type="text/event-stream"
    )
    response = send(client_in, model=relay_model.public_id)
    stream = iter(response.streaming_content)

    for raw in stream:
        if b'"delta"' in raw:
            break
    # What the server does when the browser aborts the fetch. Closing fires request_finished,
    # which would drop the test transaction's connection on PostgreSQL; keep it open.
    with mock.patch.object(connection, "close_if_unusable_or_obsolete"):
        response.close()

    message = Message.objects.get(role="assistant")
    assert (message.content, message.status) == ("one", Message.Status.INCOMPLETE)
    log = RequestLog.objects.get(pk=message.request_id)
    assert log.status == RequestLog.Status.CLIENT_DISCONNECTED


def test_without_javascript_the_form_post_answers_and_redirects(client_in, relay_model, http_mock):
    completion = {
        "id": "c1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Whole answer"}}],
    }
    http_mock.add(responses.POST, CHAT, json=completion)

    response = client_in.post("/chat/send", {"content": "hi", "model": relay_model.public_id})

    conversation = Conversation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/chat/{conversation.pk}/"
    message = conversation.messages.get(role="assistant")
    assert (message.content, message.model_id, message.provider) == (
        "Whole answer",
        "relay/chat-1",
        "relay",
    )
    assert message.attempts == [
        {"provider": "relay", "model": "relay/chat-1", "status": "ok", "reason": ""}
    ]


def test_an_empty_message_is_refused_with_a_clear_error(client_in):
    response = send(client_in, content="   ")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Write a message first."
    assert not Conversation.objects.exists()


def test_an_unknown_model_is_answered_with_the_gateway_error(client_in, relay_model):
    received = events(send(client_in, model="relay/nope"))

    assert received[-1]["message"]["status"] == "error"
    assert "relay/nope" in received[-1]["message"]["error"]


def test_another_workspaces_conversation_is_not_found(client_in, other_conversation):
    pk = other_conversation.pk

    assert client_in.get(f"/chat/{pk}/").status_code == 404
    assert send(client_in, conversation=pk).status_code == 404
    assert client_in.post(f"/chat/{pk}/rename", {"title": "mine"}).status_code == 404
    assert client_in.post(f"/chat/{pk}/delete").status_code == 404
    other_conversation.refresh_from_db()
    assert other_conversation.title == "Their secret chat"
    assert other_conversation.messages.count() == 1


def test_the_chat_page_lists_conversations_and_offers_models_in_order(
    client_in, conversation, relay_model, backup_model, workspace
):
    workspace.saved_models.create(model_id=backup_model.public_id)

    page = client_in.get("/chat/").content.decode()

    assert f'href="/chat/{conversation.pk}/"' in page
    auto = page.index('value="openprovider/auto-free"')
    saved = page.index('<optgroup label="Saved models">')
    everything = page.index('<optgroup label="All text and vision models">')
    assert auto < saved < everything
    assert page.index(f'value="{backup_model.public_id}"') > saved
    assert "Enter sends, Shift+Enter adds a line." in page


def test_a_stored_answer_is_rendered_as_sanitized_markdown(client_in, conversation):
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        content="**bold** <script>alert(1)</script> [x](javascript:alert(2))",
    )
    Message.objects.create(conversation=conversation, role="user", content="<b>mine</b>")

    page = client_in.get(f"/chat/{conversation.pk}/").content.decode()

    assert "<strong>bold</strong>" in page
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "javascript:" not in page
    assert "&lt;b&gt;mine&lt;/b&gt;" in page


def test_rename_and_delete_a_conversation(client_in, conversation):
    client_in.post(f"/chat/{conversation.pk}/rename", {"title": "  Trip plans  "})
    conversation.refresh_from_db()
    assert conversation.title == "Trip plans"

    response = client_in.post(f"/chat/{conversation.pk}/rename", {"title": ""}, follow=True)
    assert "A title cannot be empty." in response.content.decode()

    client_in.post(f"/chat/{conversation.pk}/delete")
    assert not Conversation.objects.filter(pk=conversation.pk).exists()

"""/v1/responses through the test client: validation, conversations, pagination and retention."""

from datetime import timedelta

import pytest
import responses
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_key_create
from gateway.models import RequestLog, StoredResponse
from gateway.tasks import stored_responses_expire_task
from tests.gateway.conftest import GROQ_CHAT, groq_completion, sent_bodies

pytestmark = pytest.mark.django_db


def create(api_client, **body):
    return api_client.post("/v1/responses", body, format="json")


@pytest.fixture
def answers(http_mock):
    for text in ("one", "two", "three"):
        http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content=text))


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "hi"}, "model"),
        ({"model": "groq/x"}, "input"),
        ({"model": "groq/x", "input": []}, "input"),
        ({"model": "groq/x", "input": "hi", "temperature": 3}, "temperature"),
        ({"model": "groq/x", "input": "hi", "max_output_tokens": 0}, "max_output_tokens"),
        ({"model": "groq/x", "input": "hi", "metadata": {"k": 1}}, "metadata"),
        ({"model": "groq/x", "input": "hi", "store": "yes"}, "store"),
        (
            {"model": "groq/x", "input": "hi", "text": {"format": {"type": "xml"}}},
            "text.format.type",
        ),
        ({"model": "groq/x", "input": "hi", "tool_choice": "sometimes"}, "tool_choice"),
        ({"model": "groq/x", "input": [{"role": "user", "content": None}]}, "input[0].content"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_param(api_client, groq_model, body, param):
    answer = create(api_client, **body)

    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == param


def test_a_refused_body_is_logged_like_a_chat_request(api_client, groq_model):
    answer = create(api_client, model=groq_model.public_id, input="hi", background=True)

    assert answer.json()["error"]["code"] == "unsupported_parameter"
    log = RequestLog.objects.get(id=answer["x-request-id"])
    assert (log.endpoint, log.status, log.http_status) == ("responses", "error", 400)


def test_sampling_and_output_limits_reach_the_upstream(api_client, groq_model, answers, http_mock):
    create(
        api_client,
        model=groq_model.public_id,
        input="hi",
        temperature=0.2,
        top_p=0.5,
        max_output_tokens=64,
        text={"format": {"type": "json_object"}},
    )

    sent = sent_bodies(http_mock, GROQ_CHAT)[0]
    # Groq takes the output limit as max_completion_tokens (providers.params)
    assert (sent["temperature"], sent["top_p"], sent["max_completion_tokens"]) == (0.2, 0.5, 64)
    assert sent["response_format"] == {"type": "json_object"}
    assert "metadata" not in sent
    assert "store" not in sent


def test_auto_free_routes_like_chat(api_client, groq_model, answers):
    answer = create(api_client, model="openprovider/auto-free", input="hi")

    assert answer.json()["model"] == groq_model.public_id


def test_a_conversation_of_three_turns_is_rebuilt(api_client, groq_model, answers, http_mock):
    first = create(api_client, model=groq_model.public_id, input="1", instructions="Old rules.")
    second = create(
        api_client, model=groq_model.public_id, input="2", previous_response_id=first.json()["id"]
    )
    create(
        api_client,
        model=groq_model.public_id,
        input="3",
        instructions="New rules.",
        previous_response_id=second.json()["id"],
    )

    assert sent_bodies(http_mock, GROQ_CHAT)[2]["messages"] == [
        {"role": "system", "content": "New rules."},  # instructions are not carried over
        {"role": "user", "content": "1"},
        {"role": "assistant", "content": "one"},
        {"role": "user", "content": "2"},
        {"role": "assistant", "content": "two"},
        {"role": "user", "content": "3"},
    ]


def test_a_deleted_turn_ends_the_chain_there(api_client, groq_model, answers, http_mock):
    first = create(api_client, model=groq_model.public_id, input="1").json()
    second = create(
        api_client, model=groq_model.public_id, input="2", previous_response_id=first["id"]
    ).json()
    assert api_client.delete(f"/v1/responses/{first['id']}").json()["deleted"] is True

    create(api_client, model=groq_model.public_id, input="3", previous_response_id=second["id"])

    messages = sent_bodies(http_mock, GROQ_CHAT)[2]["messages"]
    assert [m["content"] for m in messages] == ["2", "two", "3"]


def test_item_references_name_stored_items(api_client, groq_model, answers, http_mock):
    first = create(api_client, model=groq_model.public_id, input="1").json()

    create(
        api_client,
        model=groq_model.public_id,
        input=[
            {"role": "user", "content": "1"},
            {"type": "item_reference", "id": first["output"][0]["id"]},
            {"role": "user", "content": "2"},
        ],
    )

    messages = sent_bodies(http_mock, GROQ_CHAT)[1]["messages"]
    assert messages == [
        {"role": "user", "content": "1"},
        {"role": "assistant", "content": "one"},
        {"role": "user", "content": "2"},
    ]


def test_an_unknown_item_reference_is_not_found(api_client, groq_model):
    answer = create(
        api_client, model=groq_model.public_id, input=[{"type": "item_reference", "id": "msg_x"}]
    )

    assert answer.status_code == 404
    assert answer.json()["error"]["param"] == "input[0].id"


def test_deleting_twice_is_not_found(api_client, groq_model, answers):
    created = create(api_client, model=groq_model.public_id, input="1").json()

    assert api_client.delete(f"/v1/responses/{created['id']}").status_code == 200
    answer = api_client.delete(f"/v1/responses/{created['id']}")

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "response_not_found"


def test_input_items_are_listed_with_ids_and_statuses(api_client, groq_model, answers):
    created = create(
        api_client,
        model=groq_model.public_id,
        input=[
            {"role": "user", "content": "Weather?"},
            {"type": "function_call", "call_id": "c1", "name": "w", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        ],
    ).json()

    page = api_client.get(f"/v1/responses/{created['id']}/input_items?order=asc").json()

    assert page["object"] == "list"
    assert [item["type"] for item in page["data"]] == [
        "message",
        "function_call",
        "function_call_output",
    ]
    assert page["data"][0]["content"] == [{"type": "input_text", "text": "Weather?"}]
    assert all(item["id"] and item["status"] == "completed" for item in page["data"])
    assert (page["first_id"], page["last_id"]) == (page["data"][0]["id"], page["data"][2]["id"])


@pytest.mark.parametrize(
    ("query", "param"),
    [("limit=0", "limit"), ("limit=x", "limit"), ("order=up", "order"), ("after=nope", "after")],
)
def test_bad_pagination_is_a_400(api_client, groq_model, answers, query, param):
    created = create(api_client, model=groq_model.public_id, input="1").json()

    answer = api_client.get(f"/v1/responses/{created['id']}/input_items?{query}")

    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == param


def test_retention_deletes_older_responses(api_client, groq_model, answers, settings):
    settings.RESPONSES_RETENTION_DAYS = 30
    old = create(api_client, model=groq_model.public_id, input="1").json()
    recent = create(api_client, model=groq_model.public_id, input="2").json()
    StoredResponse.objects.filter(id=old["id"]).update(
        created_at=timezone.now() - timedelta(days=31)
    )

    assert stored_responses_expire_task() == 1

    assert list(StoredResponse.objects.values_list("id", flat=True)) == [recent["id"]]
    assert api_client.get(f"/v1/responses/{old['id']}").status_code == 404


def test_the_expiry_job_is_scheduled(settings):
    entry = settings.BEAT_JOBS["stored-responses-expiry"]

    assert entry["task"] == "gateway.tasks.stored_responses_expire_task"


def test_the_per_key_limit_counts_responses_with_chat(api_client, created_key, groq_model, answers):
    created_key.api_key.rpm_limit = 2
    created_key.api_key.save()
    chat = {"model": groq_model.public_id, "messages": [{"role": "user", "content": "hi"}]}

    statuses = [
        api_client.post("/v1/chat/completions", chat, format="json").status_code,
        create(api_client, model=groq_model.public_id, input="hi").status_code,
    ]
    limited = create(api_client, model=groq_model.public_id, input="hi")

    assert statuses == [200, 200]
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited["x-ratelimit-limit"] == "2"


def test_store_false_keeps_no_prompt_text(api_client, groq_model, answers):
    canary = "canary-prompt-7f3a"

    answer = create(api_client, model=groq_model.public_id, input=canary, store=False)

    assert answer.status_code == 200
    assert not StoredResponse.objects.exists()
    assert canary not in str(list(RequestLog.objects.values()))


def test_another_workspaces_items_and_turns_are_not_found(
    api_client, groq_model, answers, other_user
):
    theirs = create(api_client, model=groq_model.public_id, input="secret").json()
    other = APIClient()
    key = api_key_create(workspace=other_user.workspace, name="other", created_by=other_user)
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {key.plaintext}")

    by_turn = create(
        other, model="openprovider/auto-free", input="x", previous_response_id=theirs["id"]
    )
    by_item = create(
        other,
        model="openprovider/auto-free",
        input=[{"type": "item_reference", "id": theirs["output"][0]["id"]}],
    )

    assert by_turn.status_code == by_item.status_code == 404
    assert "secret" not in by_turn.content.decode() + by_item.content.decode()


@pytest.mark.django_db(transaction=True)  # the foreign key is checked at commit
def test_an_empty_previous_response_id_starts_a_new_stored_chain(api_client, groq_model, answers):
    answer = create(api_client, model=groq_model.public_id, input="hi", previous_response_id="")

    assert answer.status_code == 200
    stored = StoredResponse.objects.get(id=answer.json()["id"])
    assert stored.previous_id is None

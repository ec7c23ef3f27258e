"""The chat service, non-streamed: response shape, routing, params and validation."""

import json

import pytest
import responses

from gateway.api.errors import ApiError
from gateway.models import RequestLog
from tests.conftest import provider_fixture
from tests.gateway.conftest import (
    ALT_CHAT,
    GROQ_CHAT,
    HELLO,
    groq_completion,
    make_credential,
    make_model,
    sent_bodies,
)

pytestmark = pytest.mark.django_db

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def test_plain_completion_has_the_openai_shape_and_the_request_id(chat_call, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())

    result = chat_call({"model": groq_model.public_id, "messages": HELLO})

    body = result.body
    assert body["id"].startswith("gen-")
    assert body["object"] == "chat.completion"
    assert body["model"] == "groq/llama-3.3-70b-versatile"
    assert body["provider"] == "groq"
    assert body["system_fingerprint"] == "fp_f8b414701e"  # the upstream's, passed through
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"].startswith("I'd like to introduce")
    assert choice["message"]["refusal"] is None
    assert choice["logprobs"] is None
    assert choice["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 45, "completion_tokens": 607, "total_tokens": 652}
    assert result.headers == {
        "x-openprovider-model": "groq/llama-3.3-70b-versatile",
        "x-openprovider-provider": "groq",
    }
    assert sent_bodies(http_mock, GROQ_CHAT)[0]["model"] == "llama-3.3-70b-versatile"


def test_the_request_log_records_the_call_without_the_prompt(chat_call, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())

    result = chat_call({"model": groq_model.public_id, "messages": HELLO})

    log = RequestLog.objects.get(pk=result.body["id"])
    assert log.status == "success"
    assert log.http_status == 200
    assert log.served_model == groq_model.public_id
    assert log.provider == "groq"
    assert log.total_tokens == 652
    assert log.latency_ms is not None
    assert [a["status"] for a in log.attempts] == ["ok"]
    assert "Say hello" not in json.dumps([log.attempts, log.requested_model, log.error_code])


def test_tool_calls_pass_through_with_finish_reason_tool_calls(chat_call, groq_model, http_mock):
    tool_call = {
        "id": "call_abc",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
    }
    upstream = groq_completion(content=None, tool_calls=[tool_call])
    upstream["choices"][0]["finish_reason"] = "tool_calls"
    http_mock.add(responses.POST, GROQ_CHAT, json=upstream)

    body = chat_call(
        {"model": groq_model.public_id, "messages": HELLO, "tools": [WEATHER_TOOL]}
    ).body

    message = body["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [tool_call]
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert sent_bodies(http_mock, GROQ_CHAT)[0]["tools"] == [WEATHER_TOOL]


def test_json_mode_is_forwarded(chat_call, groq_model, http_mock):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion(content='{"ok": true}'))

    body = chat_call(
        {
            "model": groq_model.public_id,
            "messages": HELLO,
            "response_format": {"type": "json_object"},
        }
    ).body

    assert json.loads(body["choices"][0]["message"]["content"]) == {"ok": True}
    assert sent_bodies(http_mock, GROQ_CHAT)[0]["response_format"] == {"type": "json_object"}


def test_auto_routes_an_image_message_to_a_vision_model(
    chat_call, groq_model, vision_model, http_mock
):
    http_mock.add(
        responses.POST,
        ALT_CHAT,
        json=provider_fixture("openrouter/chat_completion_free_model.json"),
    )
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    messages = [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, image]}]

    body = chat_call({"model": "openprovider/auto-free", "messages": messages}).body

    assert body["model"] == vision_model.public_id
    sent = sent_bodies(http_mock, ALT_CHAT)[0]
    assert sent["model"] == "alt-vision"
    assert sent["messages"][0]["content"][1] == image


def test_known_params_are_forwarded_and_unknown_or_unsafe_ones_dropped(
    chat_call, groq_model, http_mock
):
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())

    chat_call(
        {
            "model": groq_model.public_id,
            "messages": [{"role": "developer", "content": "Be brief."}, *HELLO],
            "temperature": 0.2,
            "top_p": 0.9,
            "max_tokens": 50,
            "stop": ["\n\n"],
            "seed": 7,
            "user": "user-1",
            "reasoning_effort": "low",
            "metadata": {"a": "b"},
            "api_base": "http://169.254.169.254/latest",
            "base_url": "http://evil.test",
            "extra_headers": {"X-Evil": "1"},
            "custom_llm_provider": "openai",
        }
    )

    sent = sent_bodies(http_mock, GROQ_CHAT)[0]
    assert sent == {
        "model": "llama-3.3-70b-versatile",
        "messages": [{"role": "system", "content": "Be brief."}, *HELLO],
        "temperature": 0.2,
        "top_p": 0.9,
        "max_completion_tokens": 50,  # Groq's name for it (providers.params)
        "stop": ["\n\n"],
        "seed": 7,
        "user": "user-1",
    }
    assert http_mock.calls[0].request.url == GROQ_CHAT
    assert "X-Evil" not in http_mock.calls[0].request.headers


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"messages": HELLO}, "model"),
        ({"model": "groq/x", "messages": []}, "messages"),
        ({"model": "groq/x", "messages": "hi"}, "messages"),
        ({"model": "groq/x", "messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
        ({"model": "groq/x", "messages": [{"role": "user"}]}, "messages[0].content"),
        (
            {"model": "groq/x", "messages": [{"role": "user", "content": [{"type": "audio"}]}]},
            "messages[0].content[0].type",
        ),
        ({"model": "groq/x", "messages": HELLO, "temperature": "hot"}, "temperature"),
        ({"model": "groq/x", "messages": HELLO, "temperature": 3}, "temperature"),
        ({"model": "groq/x", "messages": HELLO, "max_tokens": 1.5}, "max_tokens"),
        ({"model": "groq/x", "messages": HELLO, "stream": "yes"}, "stream"),
        (
            {"model": "groq/x", "messages": HELLO, "tools": [{"type": "function"}]},
            "tools[0].function",
        ),
        (
            {"model": "groq/x", "messages": HELLO, "response_format": {"type": "xml"}},
            "response_format.type",
        ),
        ({"model": "groq/x", "messages": HELLO, "provider": {"only": "groq"}}, "provider.only"),
    ],
)
def test_invalid_requests_are_400_naming_the_param(chat_call, groq_model, payload, param):
    with pytest.raises(ApiError) as raised:
        chat_call(payload)

    assert raised.value.status_code == 400
    assert raised.value.code == "invalid_request"
    assert raised.value.param == param


def test_an_unknown_model_is_404_model_not_found(chat_call, groq_model, http_mock):
    with pytest.raises(ApiError) as raised:
        chat_call({"model": "groq/not-a-model", "messages": HELLO})

    assert raised.value.status_code == 404
    assert raised.value.code == "model_not_found"
    assert len(http_mock.calls) == 0


def test_a_model_of_another_category_is_400_model_category_mismatch(chat_call, groq):
    model = make_model(groq, "whisper-tts", category="speech")

    with pytest.raises(ApiError) as raised:
        chat_call({"model": model.public_id, "messages": HELLO})

    assert raised.value.status_code == 400
    assert raised.value.code == "model_category_mismatch"


def test_auto_with_nothing_fitting_is_503_saying_why(chat_call, groq_model, http_mock):
    image = {"type": "image_url", "image_url": {"url": "https://example.test/cat.png"}}
    messages = [{"role": "user", "content": [image]}]

    with pytest.raises(ApiError) as raised:
        chat_call({"model": "auto", "messages": messages, "tools": [WEATHER_TOOL]})

    assert raised.value.status_code == 503
    assert raised.value.code == "no_available_model"
    assert "no free vision model with tools" in raised.value.message
    assert len(http_mock.calls) == 0


def test_auto_skips_models_whose_context_is_too_small(chat_call, groq, alt, http_mock):
    make_model(groq, "tiny", context_length=1000)
    roomy = make_model(alt, "roomy", context_length=100_000)
    http_mock.add(responses.POST, ALT_CHAT, json=groq_completion())

    body = chat_call({"model": "auto", "messages": HELLO, "max_tokens": 4000}).body

    assert body["model"] == roomy.public_id


def test_a_model_only_another_workspace_has_is_404_and_never_calls_its_key(
    chat_call, other_user, http_mock
):
    theirs = make_credential(other_user.workspace, "groq", "groq")
    their_model = make_model(theirs, "their-model")

    with pytest.raises(ApiError) as raised:
        chat_call({"model": their_model.public_id, "messages": HELLO})
    with pytest.raises(ApiError) as auto:
        chat_call({"model": "openprovider/auto-free", "messages": HELLO})

    assert raised.value.status_code == 404
    assert auto.value.status_code == 503
    assert len(http_mock.calls) == 0


def test_models_list_is_an_ordered_fallback_of_exact_ids(
    chat_call, groq_model, alt_model, http_mock
):
    http_mock.add(responses.POST, GROQ_CHAT, status=503, json={"error": {"message": "busy"}})
    http_mock.add(responses.POST, ALT_CHAT, json=groq_completion())

    body = chat_call(
        {"model": groq_model.public_id, "models": [alt_model.public_id], "messages": HELLO}
    ).body

    assert body["model"] == alt_model.public_id


def test_provider_only_and_order_filter_and_sort_candidates(
    chat_call, groq_model, alt_model, http_mock
):
    http_mock.add(responses.POST, ALT_CHAT, json=groq_completion())

    first = chat_call({"model": "auto", "messages": HELLO, "provider": {"only": ["relay"]}})
    second = chat_call({"model": "auto", "messages": HELLO, "provider": {"order": ["custom"]}})

    assert first.body["model"] == second.body["model"] == alt_model.public_id
    assert all(call.request.url == ALT_CHAT for call in http_mock.calls)


def test_mistral_content_parts_become_a_string(chat_call, alt_model, http_mock):
    upstream = groq_completion(
        content=[
            {"type": "thinking", "thinking": [{"type": "text", "text": "Hmm."}]},
            {"type": "text", "text": "Hello!"},
        ]
    )
    http_mock.add(responses.POST, ALT_CHAT, json=upstream)

    message = chat_call({"model": alt_model.public_id, "messages": HELLO}).body["choices"][0][
        "message"
    ]

    assert message["content"] == "Hello!"
    assert message["reasoning"] == "Hmm."

"""The Responses <-> chat translation tables, one case per item, part, format and event type."""

import json

import pytest

from gateway.api.errors import ApiError
from gateway.chat.normalize import ChunkNormalizer
from gateway.responses import translate
from tests.conftest import provider_fixture

USER = {"type": "message", "role": "user", "content": "hi"}
CALL = {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"}
CHAT_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": "{}"},
}


@pytest.mark.parametrize(
    ("items", "messages"),
    [
        ([USER], [{"role": "user", "content": "hi"}]),
        (
            [{"role": "developer", "content": "Be brief."}],
            [{"role": "system", "content": "Be brief."}],
        ),
        (
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "a"},
                        {"type": "input_text", "text": "b"},
                    ],
                }
            ],
            [{"role": "user", "content": "a\nb"}],
        ),
        (
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "What is this?"},
                        {
                            "type": "input_image",
                            "image_url": "data:image/png;base64,iVBOR",
                            "detail": "low",
                        },
                    ],
                }
            ],
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {
                            "type": "image_url",
                            "image_url": {"url": "data:image/png;base64,iVBOR", "detail": "low"},
                        },
                    ],
                }
            ],
        ),
        (
            [
                {
                    "type": "message",
                    "role": "assistant",
                    "id": "msg_1",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": "Sunny.", "annotations": []}],
                }
            ],
            [{"role": "assistant", "content": "Sunny."}],
        ),
        ([CALL], [{"role": "assistant", "content": None, "tool_calls": [CHAT_CALL]}]),
        (
            [{"role": "assistant", "content": "Checking."}, CALL, {**CALL, "call_id": "call_2"}],
            [
                {
                    "role": "assistant",
                    "content": "Checking.",
                    "tool_calls": [CHAT_CALL, {**CHAT_CALL, "id": "call_2"}],
                }
            ],
        ),
        (
            [{"type": "function_call_output", "call_id": "call_1", "output": "sunny"}],
            [{"role": "tool", "tool_call_id": "call_1", "content": "sunny"}],
        ),
        (
            [
                {
                    "type": "function_call_output",
                    "call_id": "call_1",
                    "output": [{"type": "input_text", "text": "sunny"}],
                }
            ],
            [{"role": "tool", "tool_call_id": "call_1", "content": "sunny"}],
        ),
        (
            [{"type": "reasoning", "id": "rs_1", "summary": []}, USER],
            [{"role": "user", "content": "hi"}],
        ),
    ],
    ids=[
        "string message",
        "developer is system",
        "text parts",
        "image part",
        "assistant output message",
        "function_call",
        "calls join the assistant turn",
        "function_call_output",
        "function_call_output parts",
        "reasoning dropped",
    ],
)
def test_items_become_chat_messages(items, messages):
    assert translate.items_to_messages(translate.input_items(items)) == messages


def test_a_string_input_is_one_user_message():
    assert translate.input_items("hi") == [USER]


@pytest.mark.parametrize("item", [{"type": "item_reference", "id": "msg_1"}, {"id": "msg_1"}])
def test_item_references_are_kept_for_resolution(item):
    assert translate.input_items([item]) == [{"type": "item_reference", "id": "msg_1"}]


@pytest.mark.parametrize(
    ("items", "param"),
    [
        ([{"type": "web_search_call", "id": "ws_1"}], "input[0].type"),
        ([USER, {"type": "computer_call_output"}], "input[1].type"),
        (
            [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}],
            "input[0].content[0].type",
        ),
        (
            [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}],
            "input[0].content[0].file_id",
        ),
    ],
)
def test_untranslatable_items_are_unsupported(items, param):
    with pytest.raises(ApiError) as raised:
        translate.items_to_messages(translate.input_items(items))

    assert (raised.value.status_code, raised.value.code) == (400, "unsupported_parameter")
    assert raised.value.param == param


@pytest.mark.parametrize(
    ("items", "param"),
    [
        ([{"role": "robot", "content": "hi"}], "input[0].role"),
        ([{"type": "function_call", "call_id": "c", "arguments": "{}"}], "input[0].name"),
        ([{"type": "function_call_output", "output": "x"}], "input[0].call_id"),
        ([{"role": "user", "content": 5}], "input[0].content"),
        ([{"role": "user", "content": [{"type": "input_text"}]}], "input[0].content[0].text"),
    ],
)
def test_invalid_items_name_the_param(items, param):
    with pytest.raises(ApiError) as raised:
        translate.items_to_messages(translate.input_items(items))

    assert (raised.value.status_code, raised.value.param) == (400, param)


def test_function_tools_take_the_chat_shape():
    tool = {"type": "function", "name": "f", "description": "d", "parameters": {}, "strict": True}

    assert translate.tools_to_chat([tool]) == [
        {
            "type": "function",
            "function": {"name": "f", "description": "d", "parameters": {}, "strict": True},
        }
    ]


@pytest.mark.parametrize("kind", ["web_search", "web_search_preview", "file_search", "mcp"])
def test_a_built_in_tool_is_named_in_the_400(kind):
    with pytest.raises(ApiError) as raised:
        translate.tools_to_chat([{"type": kind}])

    assert raised.value.code == "unsupported_parameter"
    assert raised.value.param == "tools[0].type"
    assert f"'{kind}'" in raised.value.message


@pytest.mark.parametrize(
    ("choice", "chat"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ({"type": "function", "name": "f"}, {"type": "function", "function": {"name": "f"}}),
    ],
)
def test_tool_choice(choice, chat):
    assert translate.tool_choice_to_chat(choice) == chat


def test_a_built_in_tool_choice_is_unsupported():
    with pytest.raises(ApiError) as raised:
        translate.tool_choice_to_chat({"type": "file_search"})

    assert (raised.value.code, raised.value.param) == ("unsupported_parameter", "tool_choice.type")


@pytest.mark.parametrize(
    ("fmt", "response_format"),
    [
        ({"type": "text"}, None),
        ({"type": "json_object"}, {"type": "json_object"}),
        (
            {"type": "json_schema", "name": "A", "schema": {"type": "object"}, "strict": True},
            {
                "type": "json_schema",
                "json_schema": {"name": "A", "schema": {"type": "object"}, "strict": True},
            },
        ),
    ],
)
def test_text_format_becomes_response_format(fmt, response_format):
    assert translate.format_to_chat(fmt) == response_format


def test_a_json_schema_format_needs_its_schema():
    with pytest.raises(ApiError) as raised:
        translate.format_to_chat({"type": "json_schema", "name": "A"})

    assert raised.value.param == "text.format.schema"


# ---- answers ----------------------------------------------------------------------------------
def completion(**message):
    return {"choices": [{"index": 0, "message": {"role": "assistant", **message}}]}


def test_a_completion_becomes_reasoning_message_and_function_calls():
    output = translate.completion_to_output(
        completion(content="Checking.", reasoning="Think first.", tool_calls=[CHAT_CALL])
    )

    assert [item["type"] for item in output] == ["reasoning", "message", "function_call"]
    assert output[0]["content"] == [{"type": "reasoning_text", "text": "Think first."}]
    assert output[0]["id"].startswith("rs_")
    assert output[1]["content"] == [
        {"type": "output_text", "text": "Checking.", "annotations": [], "logprobs": []}
    ]
    assert output[1]["id"].startswith("msg_")
    assert {k: output[2][k] for k in ("call_id", "name", "arguments", "status")} == {
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": "{}",
        "status": "completed",
    }


def test_a_refusal_is_a_refusal_part():
    (message,) = translate.completion_to_output(completion(content=None, refusal="No."))

    assert message["content"] == [{"type": "refusal", "refusal": "No."}]


@pytest.mark.parametrize(
    ("finish", "status", "details"),
    [
        ("stop", "completed", None),
        ("tool_calls", "completed", None),
        ("length", "incomplete", {"reason": "max_output_tokens"}),
        ("content_filter", "incomplete", {"reason": "content_filter"}),
    ],
)
def test_finish_reasons(finish, status, details):
    assert translate.outcome(finish) == (status, details)


def test_usage_takes_the_responses_names():
    usage = {
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 2},
    }

    assert translate.usage_to_responses(usage) == {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
        "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 2},
        "total_tokens": 15,
    }


# ---- streams ----------------------------------------------------------------------------------
SKELETON = {"id": "resp_1", "object": "response", "status": "in_progress", "output": []}


def chunk(finish=None, **delta):
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def run(chunks, usage=None):
    translator = translate.StreamTranslator(dict(SKELETON))
    events = list(translator.started())
    for item in chunks:
        events += translator.feed(item)
    events += translator.completed(usage)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    return events


def kinds(events):
    return [e["type"] for e in events]


def test_text_events():
    events = run([chunk(content="Hel"), chunk(content="lo", finish="stop")])

    assert kinds(events) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    added, done = events[2]["item"], events[8]["item"]
    assert (added["status"], added["content"]) == ("in_progress", [])
    assert done["status"] == "completed"
    assert done["content"][0]["text"] == "Hello"
    assert events[4]["item_id"] == done["id"]
    assert events[6]["text"] == "Hello"
    assert events[-1]["response"]["output"] == [done]
    assert events[-1]["response"]["status"] == "completed"


def test_reasoning_then_text_are_two_items():
    events = run([chunk(reasoning="Hmm."), chunk(content="Yes.")])

    assert "response.reasoning_text.delta" in kinds(events)
    assert [e["output_index"] for e in events if e["type"] == "response.output_item.added"] == [
        0,
        1,
    ]
    (reasoning_done,) = [e for e in events if e["type"] == "response.reasoning_text.done"]
    assert reasoning_done["text"] == "Hmm."
    output = events[-1]["response"]["output"]
    assert [item["type"] for item in output] == ["reasoning", "message"]


def test_text_then_parallel_tool_calls():
    first = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "a", "arguments": ""},
    }
    second = {
        "index": 1,
        "id": "call_2",
        "type": "function",
        "function": {"name": "b", "arguments": "{}"},
    }
    events = run(
        [
            chunk(content="Let me look."),
            chunk(tool_calls=[first]),
            chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"x":1}'}}]),
            chunk(tool_calls=[second], finish="tool_calls"),
        ]
    )

    done = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert [(e["name"], e["arguments"], e["output_index"]) for e in done] == [
        ("a", '{"x":1}', 1),
        ("b", "{}", 2),
    ]
    output = events[-1]["response"]["output"]
    assert [item["type"] for item in output] == ["message", "function_call", "function_call"]
    assert [item.get("call_id") for item in output[1:]] == ["call_1", "call_2"]


def test_a_refusal_streams_as_refusal_events():
    events = run([chunk(refusal="No.")])

    assert "response.refusal.delta" in kinds(events)
    (done,) = [e for e in events if e["type"] == "response.refusal.done"]
    assert done["refusal"] == "No."


def test_a_length_finish_ends_incomplete_with_usage():
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    events = run([chunk(content="Cut", finish="length")], usage=usage)

    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert events[-1]["response"]["usage"]["total_tokens"] == 5


def test_a_failure_keeps_what_arrived():
    translator = translate.StreamTranslator(dict(SKELETON))
    list(translator.started())
    list(translator.feed(chunk(content="Part")))
    events = list(translator.error("upstream_error", "broke")) + list(translator.failed("broke"))

    assert kinds(events) == ["error", "response.failed"]
    response = events[1]["response"]
    assert response["status"] == "failed"
    assert response["error"] == {"code": "server_error", "message": "broke"}
    assert response["output"][0]["status"] == "incomplete"
    assert response["output"][0]["content"][0]["text"] == "Part"


def test_a_recorded_groq_stream():
    """The recorded Groq stream (reasoning deltas, then text) in normalized chunk form."""
    normalizer = ChunkNormalizer(request_id="gen-1", created=1, model="groq/m")
    raw = provider_fixture("groq/chat_stream.sse").decode().split("\n\n")
    upstream = [json.loads(event[6:]) for event in raw if event.startswith("data: {")]
    chunks = [c for data in upstream if (c := normalizer.feed(data))]
    events = run(chunks)

    output = events[-1]["response"]["output"]
    assert [item["type"] for item in output] == ["reasoning", "message"]
    assert output[1]["content"][0]["text"] == (
        "The tool returned the expected result for the valid call."
    )


def test_interleaved_parallel_calls_stay_two_items():
    first = {"index": 0, "id": "call_1", "function": {"name": "a", "arguments": '{"x":'}}
    second = {"index": 1, "id": "call_2", "function": {"name": "b", "arguments": "{}"}}
    events = run(
        [
            chunk(tool_calls=[first]),
            chunk(tool_calls=[second]),
            chunk(tool_calls=[{"index": 0, "function": {"arguments": "1}"}}]),
        ]
    )

    output = events[-1]["response"]["output"]
    assert [(item["name"], item["arguments"]) for item in output] == [("a", '{"x":1}'), ("b", "{}")]

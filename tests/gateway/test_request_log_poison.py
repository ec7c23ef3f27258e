"""One bad row never stops the request log (issue 14): values are fitted before they are queued,
a refused batch is split so only the offending change is dropped, a failing database never makes
requests wait, and the queue's memory is bounded."""

import logging

import pytest
import responses
from django.db import OperationalError
from django.test import Client

from gateway import metrics
from gateway.models import RequestLog
from gateway.requestlog import writer as logwriter
from gateway.requestlog.services import (
    LogOutcome,
    request_log_finish,
    request_log_flush,
    request_log_start,
)
from gateway.requestlog.writer import writer
from tests.gateway.conftest import GROQ_CHAT, HELLO, groq_completion

DONE = LogOutcome(status="success", http_status=200, served_model="m/x", provider="m")


def start(workspace, request_id: str, requested_model: str = "m/x") -> None:
    request_log_start(
        request_id=request_id,
        workspace=workspace,
        api_key=None,
        endpoint="chat/completions",
        requested_model=requested_model,
        streamed=True,
    )


def dropped(reason: str) -> float:
    return metrics.REQUEST_LOG_DROPPED.labels(reason=reason)._value.get()


@pytest.fixture
def slow_flush(write_behind, settings):
    settings.REQUEST_LOG_FLUSH_SECONDS = 60  # only the explicit flushes below write


@pytest.mark.django_db(transaction=True)
def test_a_nul_in_a_playground_field_neither_stops_nor_loses_the_log(user, slow_flush):
    # given a signed-in user whose speech request carries a NUL byte in the model field
    client = Client()
    client.force_login(user)
    poisoned = client.post("/playground/speech", {"model": "a\x00b", "input": "hi"})
    after = client.post("/playground/speech", {"model": "tts-other", "input": "hi"})

    # when the writer writes the queue
    assert request_log_flush()

    # then both requests have their row, the NUL replaced, and nothing stays queued
    poisoned_row = RequestLog.objects.get(pk=poisoned["x-request-id"])
    assert poisoned_row.requested_model == "a\ufffdb"
    assert poisoned_row.status == "error"
    assert RequestLog.objects.get(pk=after["x-request-id"]).requested_model == "tts-other"
    assert writer.pending() == 0


@pytest.mark.django_db(transaction=True)
def test_every_value_is_fitted_to_its_column(workspace, slow_flush):
    # given a row whose every kind of column got a value the database would refuse
    start(workspace, "gen-unfit", requested_model="x\x00" + "m" * 1000 + "\ud800")
    outcome = LogOutcome(
        status="error",
        http_status=70000,  # past a small integer
        error_code="code\ud83d" * 40,
        served_model="\x00",
        provider="p" * 500,
        attempts=[{"m\x00": "\udc80", "ms": float("nan"), "big": 10**5000, "n": [[[[[[[[1]]]]]]]]}],
        latency_ms=-5,
        ttft_ms=2**40,
        usage={"prompt_tokens": True, "completion_tokens": "7", "total_tokens": 2**31},
    )
    request_log_finish("gen-unfit", outcome)

    # when it is written
    assert request_log_flush()

    # then it is stored, each value fitted to its column
    row = RequestLog.objects.get(pk="gen-unfit")
    assert row.requested_model == "x\ufffd" + "m" * 298
    assert row.http_status is None
    assert row.error_code == ("code\ufffd" * 13)[:64]
    assert (row.served_model, row.provider) == ("\ufffd", "p" * 64)
    attempt = row.attempts[0]
    assert (attempt["m\ufffd"], attempt["ms"], attempt["big"]) == ("\ufffd", None, None)
    assert attempt["n"] == [[[[[[None]]]]]]  # nesting past the depth bound is cut
    assert (row.latency_ms, row.ttft_ms) == (None, None)
    assert (row.prompt_tokens, row.completion_tokens, row.total_tokens) == (None, None, None)


@pytest.mark.django_db(transaction=True)
def test_a_refused_change_is_dropped_alone_and_logged_with_its_request_id(
    workspace, slow_flush, caplog
):
    # given 40 queued rows, one of them refused for good (its id is already taken), and the
    # final update of a row written earlier
    start(workspace, "gen-earlier")
    assert request_log_flush()
    RequestLog.objects.create(id="gen-taken", workspace=workspace, endpoint="chat/completions")
    for i in range(40):
        start(workspace, "gen-taken" if i == 17 else f"gen-batch-{i}")
    request_log_finish("gen-earlier", DONE)
    refused_before = dropped("refused")

    # when the batch is written
    with caplog.at_level(logging.ERROR, logger="gateway.requestlog.writer"):
        assert request_log_flush()

    # then every other change is written, and only the refused one is dropped and reported
    assert RequestLog.objects.filter(pk__startswith="gen-batch-").count() == 39
    assert RequestLog.objects.get(pk="gen-earlier").status == "success"
    assert writer.pending() == 0
    assert dropped("refused") == refused_before + 1
    [report] = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert "gen-taken" in report


@pytest.fixture
def database_down(monkeypatch):
    """The database refuses every request-log write as unavailable; counts the attempts."""
    calls = []

    def down(rows):
        calls.append(len(rows))
        raise OperationalError("database is locked")

    monkeypatch.setattr(logwriter, "_insert_rows", down)
    yield calls
    monkeypatch.undo()  # before write_behind's final flush (monkeypatch may be set up earlier)


@pytest.mark.django_db(transaction=True)
def test_while_the_database_fails_requests_never_write_and_the_queue_is_bounded(
    workspace, slow_flush, settings, database_down, caplog
):
    settings.REQUEST_LOG_MAX_PENDING = 3
    settings.REQUEST_LOG_MAX_QUEUED = 6
    # given the writer's last flush failed for a transient reason (the row stays queued)
    start(workspace, "gen-down-0")
    assert not request_log_flush()
    assert database_down == [1]
    overflow_before = dropped("overflow")

    # when requests go on past both bounds
    with caplog.at_level(logging.ERROR, logger="gateway.requestlog.writer"):
        for i in range(1, 10):
            start(workspace, f"gen-down-{i}")

    # then none of them tried a synchronous write, and the queue stopped at its bound,
    # counting and reporting what it dropped
    assert database_down == [1]
    assert writer.pending() == 6
    assert dropped("overflow") == overflow_before + 4
    assert any("queue full" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_usage_out_of_range_from_an_upstream_neither_stops_nor_loses_the_log(
    api_client, groq_model, http_mock, slow_flush
):
    # given an upstream (a tenant's own custom provider can answer anything) whose usage counts
    # are past any integer column; /v1 bodies themselves cannot carry a NUL (the parser refuses)
    completion = groq_completion()
    completion["usage"] = {"prompt_tokens": 2**64, "completion_tokens": -1, "total_tokens": 2**40}
    http_mock.add(responses.POST, GROQ_CHAT, json=completion)
    http_mock.add(responses.POST, GROQ_CHAT, json=groq_completion())
    payload = {"model": groq_model.public_id, "messages": HELLO}
    poisoned = api_client.post("/v1/chat/completions", payload, format="json")
    after = api_client.post("/v1/chat/completions", payload, format="json")
    assert (poisoned.status_code, after.status_code) == (200, 200)

    # when the log is written, both rows are there, the counts that cannot be stored empty
    assert request_log_flush()
    row = RequestLog.objects.get(pk=poisoned["x-request-id"])
    assert (row.status, row.prompt_tokens, row.completion_tokens, row.total_tokens) == (
        "success",
        None,
        None,
        None,
    )
    assert RequestLog.objects.get(pk=after["x-request-id"]).status == "success"
    assert writer.pending() == 0

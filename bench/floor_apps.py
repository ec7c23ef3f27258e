"""The floor: the least a Python forwarder costs on this machine, for bench/run.py's scenarios 1-2.

Each callable is a WSGI app that takes the bench's chat request, strips the `mock/` prefix from
the model and forwards the body to the bench mock (its URL read from the bench database), with no
authentication, routing, rate limit or request log. Served by the same gunicorn settings, they
show what the HTTP stack alone costs, so the gateway's figures can be read against them:

    .venv/bin/python bench/run.py --only 1,2 --app bench.floor_apps:NAME

with NAME one of `hello` (no upstream call), `urllib3_pool` (urllib3 alone), `requests_session`
(`requests.Session.post`), `requests_adapter` (the gateway's way: a prepared request sent on the
pooled HTTPAdapter) and `django_lean` (that, behind a plain Django view).

`django_lean` has no middleware and no DRF. Results: bench/README.md, "The floor".
"""

import json
from typing import Any

import django

django.setup()

import requests  # noqa: E402
import urllib3  # noqa: E402
from django.conf import settings  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from providers.models import ProviderCredential  # noqa: E402
from providers.transport import http_pool_for, prepare_request  # noqa: E402

TIMEOUT = (5, 30)
JSON = [("Content-Type", "application/json")]


def _upstream_url() -> str:
    credential = ProviderCredential.objects.filter(name="mock").order_by("-pk").first()
    if credential is None:
        raise RuntimeError("no bench database: serve these through bench/run.py --app")
    return credential.base_url + "/chat/completions"


URL = _upstream_url()


def _forwarded(raw: bytes) -> dict[str, Any]:
    data = json.loads(raw)
    return {**data, "model": data["model"].split("/", 1)[1]}


def _read(environ: dict[str, Any]) -> bytes:
    return environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))


def _answer(start_response: Any, body: bytes) -> list[bytes]:
    start_response("200 OK", [*JSON, ("Content-Length", str(len(body)))])
    return [body]


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    _forwarded(_read(environ))
    return _answer(start_response, b'{"ok":true}')


_urllib3 = urllib3.PoolManager(maxsize=64)


def urllib3_pool(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = json.dumps(_forwarded(_read(environ))).encode()
    answer = _urllib3.request(
        "POST", URL, body=body, headers=dict(JSON), timeout=urllib3.Timeout(*TIMEOUT)
    )
    return _answer(start_response, answer.data)


_session = requests.Session()


def requests_session(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    answer = _session.post(URL, json=_forwarded(_read(environ)), timeout=TIMEOUT)
    return _answer(start_response, answer.content)


def _via_adapter(payload: dict[str, Any]) -> bytes:
    prepared = prepare_request("POST", URL, {"Authorization": "Bearer bench"}, json=payload)
    answer = http_pool_for("floor").send(prepared, stream=True, timeout=TIMEOUT)
    try:
        return answer.raw.read()
    finally:
        answer.close()


def requests_adapter(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    return _answer(start_response, _via_adapter(_forwarded(_read(environ))))


@csrf_exempt
def _lean_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_via_adapter(_forwarded(request.body)), content_type="application/json")


urlpatterns = [path("v1/chat/completions", _lean_view)]
_lean_handler: Any = None


def django_lean(environ: dict[str, Any], start_response: Any) -> Any:
    global _lean_handler
    if _lean_handler is None:
        from django.core.handlers.wsgi import WSGIHandler

        settings.MIDDLEWARE = []
        settings.ROOT_URLCONF = __name__
        _lean_handler = WSGIHandler()
    return _lean_handler(environ, start_response)

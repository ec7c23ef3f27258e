"""Contract fuzzing: schemathesis over the drf-spectacular schema, in-process (TESTING §5.8).

The app runs as WSGI in this process with a workspace that has a model of every category and
the provider mocked (`responses`), so success paths answer too. Positive and negative cases,
bounded per operation to stay fast; a failure is a contract bug (a 500, a status or body the
schema does not document, invalid data accepted, auth ignored). The operations come from the
/v1 URLconf, so a route missing from the schema fails here too.

schemathesis' own pytest integration needs pytest < 9, so the strategies are driven directly.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode, checks

from tests.hardening.conftest import ROUTES, SAMPLE_PATH_VALUES, mock_relay

pytestmark = pytest.mark.django_db

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.ignored_auth,
]
EXAMPLES = 25
CATEGORY_OF = {
    "v1-chat-completions": "text",
    "v1-responses": "text",
    "v1-images-generations": "image",
    "v1-images-analyze": "vision",
    "v1-audio-speech": "speech",
    "v1-embeddings": "embedding",
    "v1-audio-transcriptions": "transcription",
    "v1-completions": "text",
}


def checks_for(case, mode) -> list:
    """Every check, but a negative multipart case is not expected to be refused for a type:
    a form field is text, so `null` or `5` arrive as the strings "null" and "5" (a valid
    prompt). It is still checked for server errors, statuses and bodies."""
    media_type = getattr(case, "media_type", None) or ""
    if mode is GenerationMode.NEGATIVE and media_type.startswith("multipart/"):
        return [check for check in CHECKS if check is not checks.negative_data_rejection]
    return CHECKS


def schema_path(route) -> str:
    path = route.path
    for name, value in SAMPLE_PATH_VALUES.items():
        path = path.replace(value, "{" + name + "}")
    return path


@pytest.fixture
def api_schema(db, catalog, http_mock, settings):
    from config.wsgi import application

    settings.ALLOWED_HOSTS = ["*"]
    mock_relay(http_mock)
    # As Django's test client does: the test's transaction keeps its one connection
    # (PostgreSQL would otherwise close it at the end of each in-process request).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    schema = schemathesis.openapi.from_wsgi("/api/schema", application)
    # Unknown query parameters are ignored (as OpenAI's API does), never an error.
    schema.config.generation.update(allow_extra_parameters=False)
    yield schema
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_the_api_honours_its_schema(api_schema, catalog, created_key, route, mode):
    operation = api_schema[schema_path(route)][route.method.lower()]
    headers = {"Authorization": f"Bearer {created_key.plaintext}"}
    category = CATEGORY_OF.get(route.name)
    model_id = catalog[category].public_id if category else None

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        if mode is GenerationMode.POSITIVE and model_id and isinstance(case.body, dict):
            case.body["model"] = model_id  # a real model, so valid cases reach the provider
        case.call_and_validate(headers=headers, checks=checks_for(case, mode))

    run()

"""Shared fixtures. Provider HTTP never leaves the process: un-stubbed requests fail."""

import json
from pathlib import Path
from typing import Any

import pytest
import responses
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import User, Workspace
from accounts.services import CreatedApiKey, api_key_create

FIXTURES = Path(__file__).parent / "fixtures" / "providers"


def provider_fixture(name: str) -> Any:
    """A recorded provider payload: parsed JSON for .json files, raw bytes otherwise."""
    path = FIXTURES / name
    if path.suffix == ".json":
        return json.loads(path.read_text())
    return path.read_bytes()


@pytest.fixture(autouse=True)
def http_mock():
    """Strict `responses`: a request to any URL not registered raises ConnectionError.

    Loopback stays reachable for live_server and the local fault servers.
    """
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru("http://127.0.0.1")
        mock.add_passthru("http://localhost")
        yield mock


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user(db) -> User:
    return User.objects.create_user("ada@example.com", password="correct horse battery")


@pytest.fixture
def workspace(user) -> Workspace:
    return user.workspace


@pytest.fixture
def other_user(db) -> User:
    return User.objects.create_user("bob@example.com", password="correct horse battery")


@pytest.fixture
def created_key(workspace, user) -> CreatedApiKey:
    return api_key_create(workspace=workspace, name="test key", created_by=user)


@pytest.fixture
def api_client(created_key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created_key.plaintext}")
    return client


@pytest.fixture(autouse=True, scope="session")
def _plain_static_storage():
    """Tests run without collectstatic (plain static storage) and with a fast password hasher."""
    from django.test.utils import override_settings

    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # PBKDF2 at production strength costs ~0.3 s per sign-in; tests only need a working hasher.
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with override_settings(STORAGES=storages, PASSWORD_HASHERS=hashers):
        yield


@pytest.fixture(autouse=True)
def _request_log_inline_and_local_caches_empty(settings):
    """Request-log rows are written by the request itself (tests run inside a transaction the
    write-behind thread cannot see; tests/gateway/test_request_log_writer.py covers that thread),
    and the per-process route and auth caches and health buffer start empty (ids are reused
    across tests)."""
    from config.infra.localcache import local_caches_clear
    from gateway.routing.cooldowns import route_pending_successes_clear

    settings.REQUEST_LOG_WRITE_BEHIND = False
    local_caches_clear()
    route_pending_successes_clear()
    yield
    local_caches_clear()
    route_pending_successes_clear()

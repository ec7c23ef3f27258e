"""Two workspaces, A (the caller) and B (the victim), each owning one object of every kind.

Every provider key is a unique canary and every upstream call is recorded with its
Authorization header, so a test can prove B's key never left the process on A's behalf.
"""

import base64
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import responses
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiKey, Conversation, Message, SavedModel, User, Workspace
from accounts.services import api_key_create
from catalog.models import CatalogModel
from gateway.models import GeneratedImage, RequestLog, StoredResponse
from providers.models import ProviderCredential
from tests.fakeprovider import tiny_png
from tests.security.leaks import leak_detector  # noqa: F401  (fixture)

RELAY_HOST = re.compile(r"https://([a-z0-9-]+)\.relay\.test/v1/(.*)")
CHAT_CAPS = {"tools": True, "structured_output": True, "streaming": True, "vision": False}


def canary(label: str) -> str:
    return f"sk-canary-{label}-{uuid.uuid4().hex}"


@dataclass
class Tenant:
    """One workspace with one row of each workspace-owned kind."""

    label: str
    user: User
    workspace: Workspace
    api_key: ApiKey
    api_key_plaintext: str
    provider_key: str
    credential: ProviderCredential
    chat_model: CatalogModel
    image_model: CatalogModel
    speech_model: CatalogModel
    conversation: Conversation
    message: Message
    saved: SavedModel
    request_log: RequestLog
    image: GeneratedImage
    extra: dict[str, Any] = field(default_factory=dict)

    def web(self, **kwargs: Any) -> Client:
        client = Client(**kwargs)
        client.force_login(self.user)
        return client

    def api(self) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.api_key_plaintext}")
        return client


def _model(credential: ProviderCredential, upstream_id: str, category: str, **extra: Any):
    now = timezone.now()
    return CatalogModel.objects.create(
        workspace=credential.workspace,
        credential=credential,
        provider=credential.provider,
        public_id=f"{credential.name}/{upstream_id}",
        upstream_id=upstream_id,
        name=upstream_id,
        category=category,
        free_evidence="self-hosted",
        last_seen=now,
        updated_at=now,
        **{"capabilities": dict(CHAT_CAPS) if category == "text" else {}, **extra},
    )


def make_tenant(label: str, email: str, tmp_path) -> Tenant:
    user = User.objects.create_user(email, password="correct horse battery")
    workspace = user.workspace
    created = api_key_create(workspace=workspace, name=f"{label} key", created_by=user)
    provider_key = canary(label)
    credential = ProviderCredential.objects.create(
        workspace=workspace,
        provider="custom",
        name="relay",
        base_url=f"https://{label}.relay.test/v1",
        api_key=provider_key,
        key_hint=provider_key[-4:],
    )
    chat_model = _model(credential, f"chat-{label}", "text")
    _model(credential, "shared-chat", "text")  # the same public id in both workspaces
    image_model = _model(credential, f"paint-{label}", "image")
    speech_model = _model(credential, f"voice-{label}", "speech", voices=["alloy"])
    routes = {
        "embedding_model": _model(credential, f"embed-{label}", "embedding"),
        "transcription_model": _model(credential, f"whisper-{label}", "transcription"),
    }
    conversation = Conversation.objects.create(
        workspace=workspace, user=user, title=f"{label} private chat"
    )
    message = Message.objects.create(conversation=conversation, role="user", content=f"{label} q")
    saved = SavedModel.objects.create(workspace=workspace, model_id=chat_model.public_id)
    request_log = RequestLog.objects.create(
        id=f"gen-{label}-{uuid.uuid4().hex[:12]}",
        workspace=workspace,
        api_key=created.api_key,
        endpoint="chat.completions",
        requested_model=chat_model.public_id,
        status=RequestLog.Status.SUCCESS,
        http_status=200,
    )
    image_path = tmp_path / f"{label}.png"
    image_path.write_bytes(b"\x89PNG\r\n\x1a\n")
    image = GeneratedImage.objects.create(
        workspace=workspace,
        name=f"{uuid.uuid4().hex}{label}.png"[:40],
        path=image_path.name,
        content_type="image/png",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    stored = StoredResponse.objects.create(
        id=f"resp_{label}{uuid.uuid4().hex}",
        workspace=workspace,
        request_id=request_log.id,
        input_items=[{"type": "message", "id": f"msg_{label}", "role": "user", "content": []}],
        body={"id": "", "object": "response", "output": []},
    )
    return Tenant(
        label=label,
        user=user,
        workspace=workspace,
        api_key=created.api_key,
        api_key_plaintext=created.plaintext,
        provider_key=provider_key,
        credential=credential,
        chat_model=chat_model,
        image_model=image_model,
        speech_model=speech_model,
        extra={**routes, "stored_response": stored},
        conversation=conversation,
        message=message,
        saved=saved,
        request_log=request_log,
        image=image,
    )


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def tenant_a(db, tmp_path) -> Tenant:
    return make_tenant("a", "alice@example.com", tmp_path)


@pytest.fixture
def tenant_b(db, tmp_path) -> Tenant:
    return make_tenant("b", "bob@example.com", tmp_path)


@dataclass
class UpstreamRecorder:
    """Answers every call to *.relay.test like a working OpenAI-compatible server, and records
    (host label, path, Authorization header) of each call."""

    calls: list[tuple[str, str, str]] = field(default_factory=list)

    def __call__(self, request: Any) -> tuple[int, dict[str, str], bytes]:
        match = RELAY_HOST.match(request.url)
        label, path = (match.group(1), match.group(2)) if match else ("?", request.url)
        self.calls.append((label, path, request.headers.get("Authorization", "")))
        if path.startswith("chat/completions"):
            body = json.loads(request.body or b"{}")
            if body.get("stream"):
                chunk = _completion(body)
                chunk["choices"][0]["delta"] = chunk["choices"][0].pop("message")
                sse = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
                return 200, {"Content-Type": "text/event-stream"}, sse
            return 200, {"Content-Type": "application/json"}, json.dumps(_completion(body)).encode()
        if path.startswith("images/generations"):
            data = {"created": 1, "data": [{"b64_json": _PNG_B64}]}
            return 200, {"Content-Type": "application/json"}, json.dumps(data).encode()
        if path.startswith("audio/speech"):
            return 200, {"Content-Type": "audio/mpeg"}, b"ID3\x04\x00\x00\x00\x00\x00\x00" * 8
        if path.startswith("models"):
            rows = {"data": [{"id": f"chat-{label}", "object": "model"}]}
            return 200, {"Content-Type": "application/json"}, json.dumps(rows).encode()
        return 404, {"Content-Type": "application/json"}, b'{"error": {"message": "no"}}'

    def keys_used(self) -> set[str]:
        return {auth.removeprefix("Bearer ") for _, _, auth in self.calls}


def _completion(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": str(body.get("model", "")),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hello"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


_PNG_B64 = base64.b64encode(tiny_png()).decode()


@pytest.fixture
def upstream(http_mock) -> UpstreamRecorder:
    recorder = UpstreamRecorder()
    pattern = re.compile(r"https://[a-z0-9-]+\.relay\.test/.*")
    for method in (responses.GET, responses.POST):
        http_mock.add_callback(method, pattern, callback=recorder)
    return recorder

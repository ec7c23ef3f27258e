"""Web app fixtures: signed-in clients, another workspace, seeded catalog rows and logs."""

import pytest
from django.test import Client

from accounts.models import Conversation, Message
from tests.catalog.factories import make_credential, seed_model

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def client_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


@pytest.fixture
def other_workspace(other_user):
    return other_user.workspace


@pytest.fixture
def credential(workspace):
    return make_credential(workspace, "custom", name="homelab")


@pytest.fixture
def text_model(credential):
    return seed_model(
        credential,
        "llama-3",
        name="Llama 3",
        context_length=8192,
        max_output_tokens=2048,
        capabilities={"streaming": True, "tools": True},
    )


@pytest.fixture
def other_credential(other_workspace):
    return make_credential(other_workspace, "custom", name="theirs")


@pytest.fixture
def other_conversation(other_workspace, other_user) -> Conversation:
    conversation = Conversation.objects.create(
        workspace=other_workspace, user=other_user, title="Their secret chat"
    )
    Message.objects.create(conversation=conversation, role="user", content="their prompt")
    return conversation


@pytest.fixture
def conversation(workspace, user) -> Conversation:
    return Conversation.objects.create(workspace=workspace, user=user, title="My chat")

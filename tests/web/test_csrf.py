"""Every POST of the web app (forms and the chat's JSON/SSE endpoint) needs a CSRF token."""

import pytest

from accounts.models import SavedModel

pytestmark = pytest.mark.django_db


@pytest.fixture
def post_routes(conversation, credential, workspace, text_model) -> list[tuple[str, dict]]:
    saved = SavedModel.objects.create(workspace=workspace, model_id="x/y")
    return [
        ("/models/save", {"model_id": text_model.public_id}),
        (f"/models/{text_model.public_id}/edit", {"hidden": "on"}),
        ("/chat/send", {"content": "hi", "model": "openprovider/auto-free"}),
        (f"/chat/{conversation.pk}/rename", {"title": "t"}),
        (f"/chat/{conversation.pk}/delete", {}),
        ("/account/providers/groq/save", {"api_key": "gsk_x"}),
        (f"/account/credentials/{credential.pk}/sync", {}),
        (f"/account/credentials/{credential.pk}/limits", {"rpm": "1"}),
        (f"/account/credentials/{credential.pk}/delete", {}),
        (f"/account/saved/{saved.pk}/delete", {}),
    ]


def test_every_post_without_a_token_is_refused(csrf_client, post_routes):
    for url, data in post_routes:
        response = csrf_client.post(url, data, HTTP_ACCEPT="text/event-stream")
        assert response.status_code == 403, url


def test_nothing_changed_after_refused_posts(
    csrf_client, post_routes, conversation, credential, text_model
):
    for url, data in post_routes:
        csrf_client.post(url, data)

    conversation.refresh_from_db()
    credential.refresh_from_db()
    text_model.refresh_from_db()
    assert conversation.title == "My chat"
    assert text_model.hidden is False
    assert credential.limits == {}
    assert SavedModel.objects.count() == 1


def test_a_post_with_the_pages_token_is_accepted(csrf_client, conversation):
    csrf_client.get("/account/conversations/")
    token = csrf_client.cookies["csrftoken"].value

    response = csrf_client.post(
        f"/chat/{conversation.pk}/rename", {"title": "Renamed", "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.title == "Renamed"


def test_get_is_not_allowed_on_post_routes(client_in, conversation):
    assert client_in.get(f"/chat/{conversation.pk}/delete").status_code == 405
    assert client_in.get("/chat/send").status_code == 405

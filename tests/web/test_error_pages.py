"""Error pages of the web app: part of the site (navigation, icon), the /v1 envelope unchanged."""

from django.template.loader import render_to_string
from django.test import Client


def test_a_missing_page_is_a_site_page_with_navigation(client_in):
    response = client_in.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert 'data-testid="nav-models"' in html
    assert 'rel="icon"' in html


def test_a_conversation_of_another_workspace_is_the_same_404_page(client_in, other_conversation):
    response = client_in.get(f"/chat/{other_conversation.pk}/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "Their secret chat" not in response.content.decode()


def test_the_api_still_answers_404_with_the_envelope(db):
    response = Client().get("/v1/no-such-route")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "unknown_route"


def test_the_server_error_page_renders_without_a_request():
    html = render_to_string("500.html")
    assert "Something went wrong" in html
    assert 'rel="icon"' in html


def test_admin_pages_carry_the_site_icon(admin_client):
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    assert 'rel="icon"' in response.content.decode()

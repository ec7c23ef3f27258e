"""States that tell the truth after a failing listing, and the review of drastic sync outcomes."""

import pytest
from django.urls import reverse

from catalog.models import CatalogModel, HeldCatalogChange, SyncRun
from catalog.services import catalog_held_accept, catalog_sync, catalog_sync_credential
from providers.wire import ModelInfo
from tests.catalog.factories import GROQ_KEY, GROQ_MODELS_URL, free, seed_model


def active_ids(credential) -> set[str]:
    return set(
        CatalogModel.objects.filter(credential=credential, is_active=True).values_list(
            "upstream_id", flat=True
        )
    )


# ---- states ----------------------------------------------------------------------------------
# Groq, not the custom row: a self-hosted server's error text is not relayed, a provider's is.


@pytest.mark.parametrize(
    ("status", "state", "reason"),
    [
        (401, "auth_failed", "authentication failed: Invalid API Key"),
        (403, "auth_failed", "authentication failed: Invalid API Key"),
        (402, "payment_required", "payment required: Invalid API Key"),
        (410, "retired", "gone (retired): Invalid API Key"),
    ],
)
def test_a_failing_listing_moves_the_state_with_the_providers_reason_redacted(
    groq_credential, http_mock, status, state, reason
):
    seed_model(groq_credential, "kept")
    message = {"error": {"message": f"Invalid API Key {GROQ_KEY}"}}
    http_mock.get(GROQ_MODELS_URL, status=status, json=message)

    result = catalog_sync(credential=groq_credential)

    groq_credential.refresh_from_db()
    assert groq_credential.state == state
    assert groq_credential.state_message.startswith(reason)
    assert GROQ_KEY not in groq_credential.state_message + result.error
    assert active_ids(groq_credential) == {"kept"}


@pytest.mark.parametrize(
    ("status", "label"),
    [(402, "Payment Required"), (410, "Retired"), (403, "Auth Failed")],
)
def test_status_api_and_setup_page_show_the_state_and_reason(
    groq_credential, http_mock, client, user, api_client, status, label
):
    http_mock.get(GROQ_MODELS_URL, status=status, json={"error": {"message": "out of credit"}})
    catalog_sync(credential=groq_credential)
    groq_credential.refresh_from_db()

    body = api_client.get("/v1/providers/status").json()
    client.force_login(user)
    page = client.get(reverse("account-providers")).content.decode()

    (entry,) = body["data"]
    assert entry["state"] == groq_credential.state
    assert "out of credit" in entry["state_message"]
    assert label in page
    assert "out of credit" in page


def test_admin_shows_the_state_and_reason(groq_credential, http_mock, admin_client):
    http_mock.get(GROQ_MODELS_URL, status=402, json={"error": {"message": "add a card"}})
    catalog_sync(credential=groq_credential)

    listing = admin_client.get(reverse("admin:providers_providercredential_changelist"))
    change = admin_client.get(
        reverse("admin:providers_providercredential_change", args=[groq_credential.pk])
    )

    assert "Payment Required" in listing.content.decode()
    assert "payment required: add a card" in listing.content.decode()
    assert "payment required: add a card" in change.content.decode()


# ---- review of drastic outcomes ------------------------------------------------------------


def seed_active(stub_adapter, custom_credential, *ids: str) -> None:
    stub_adapter.models = [free(upstream_id) for upstream_id in ids]
    catalog_sync(credential=custom_credential)
    assert active_ids(custom_credential) == set(ids)


def test_a_sync_removing_more_than_half_is_held_with_the_counts(stub_adapter, custom_credential):
    seed_active(stub_adapter, custom_credential, "a", "b", "c", "d")
    stub_adapter.models = [free("a"), free("new")]  # removes 3 of 4, adds 1

    run = catalog_sync_credential(credential=custom_credential)

    outcome = run.results["homelab"]
    assert run.status == SyncRun.Status.NEEDS_REVIEW
    assert (outcome["needs_review"], outcome["would_remove"], outcome["would_add"]) == (True, 3, 1)
    assert (outcome["added"], outcome["removed"], outcome["error"]) == (0, 0, "")
    assert active_ids(custom_credential) == {"a", "b", "c", "d"}
    custom_credential.refresh_from_db()
    assert "held for review" in custom_credential.last_sync_error
    assert "3 of 4" in custom_credential.last_sync_error
    held = HeldCatalogChange.objects.get(credential=custom_credential)
    assert (held.sync_run, held.would_remove, held.would_add) == (run, 3, 1)


def test_the_next_agreeing_sync_applies_the_held_change(stub_adapter, custom_credential):
    seed_active(stub_adapter, custom_credential, "a", "b", "c", "d")
    stub_adapter.models = [free("a"), free("new")]
    catalog_sync_credential(credential=custom_credential)

    run = catalog_sync_credential(credential=custom_credential)

    assert run.status == SyncRun.Status.OK
    assert (run.results["homelab"]["added"], run.results["homelab"]["removed"]) == (1, 3)
    assert active_ids(custom_credential) == {"a", "new"}
    assert not HeldCatalogChange.objects.exists()
    custom_credential.refresh_from_db()
    assert custom_credential.last_sync_error == ""


def test_a_different_second_listing_does_not_apply_the_firsts_change(
    stub_adapter, custom_credential
):
    seed_active(stub_adapter, custom_credential, "a", "b", "c", "d")
    stub_adapter.models = [free("a")]  # would remove b, c, d
    catalog_sync(credential=custom_credential)
    stub_adapter.models = [free("b")]  # would remove a, c, d: another outcome

    result = catalog_sync(credential=custom_credential)

    assert result.needs_review is True
    assert active_ids(custom_credential) == {"a", "b", "c", "d"}
    held = HeldCatalogChange.objects.get(credential=custom_credential)
    assert set(held.rows) == {"b"}  # the newer listing waits for its own confirmation


def test_a_sync_after_the_models_came_back_drops_the_held_change(stub_adapter, custom_credential):
    seed_active(stub_adapter, custom_credential, "a", "b", "c")
    stub_adapter.models = []
    stub_adapter.models = [ModelInfo("a", free=False), free("b")]  # removes a, c: 2 of 3
    catalog_sync(credential=custom_credential)
    stub_adapter.models = [free("a"), free("b"), free("c")]

    result = catalog_sync(credential=custom_credential)

    assert (result.needs_review, result.removed) == (False, 0)
    assert not HeldCatalogChange.objects.exists()


@pytest.mark.parametrize(
    ("before", "after", "held"),
    [
        (("a", "b"), ("a",), False),  # exactly half: applies
        (("a", "b"), ("c",), True),  # both gone
        (("a",), ("b",), True),  # the only model vanished: held once
        (("a", "b", "c", "d"), ("a", "b"), False),
        (("a", "b", "c", "d", "e"), ("a", "b"), True),
    ],
)
def test_small_catalogs_hold_only_more_than_half(
    stub_adapter, custom_credential, before, after, held
):
    seed_active(stub_adapter, custom_credential, *before)
    stub_adapter.models = [free(upstream_id) for upstream_id in after]

    result = catalog_sync(credential=custom_credential)

    assert result.needs_review is held
    assert active_ids(custom_credential) == set(before if held else after)


def test_an_operator_accepts_the_held_change_in_the_admin(
    stub_adapter, custom_credential, admin_client
):
    seed_active(stub_adapter, custom_credential, "a", "b", "c")
    stub_adapter.models = [free("c"), free("d")]  # removes a, b
    held_run = catalog_sync_credential(credential=custom_credential)
    stub_adapter.models = [free("ignored")]  # accepting applies what was reviewed, not a re-list
    calls = stub_adapter.calls

    response = admin_client.post(
        reverse("admin:catalog_syncrun_changelist"),
        {"action": "accept_held_changes", "_selected_action": [held_run.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert active_ids(custom_credential) == {"c", "d"}
    assert stub_adapter.calls == calls
    assert not HeldCatalogChange.objects.exists()
    accepted = SyncRun.objects.filter(trigger="review").get()
    assert (accepted.results["homelab"]["added"], accepted.results["homelab"]["removed"]) == (1, 2)
    assert "Applied 1 held" in response.content.decode()


def test_the_credential_admin_accepts_its_held_change(
    stub_adapter, custom_credential, admin_client
):
    seed_active(stub_adapter, custom_credential, "a", "b", "c")
    stub_adapter.models = [free("c")]
    catalog_sync(credential=custom_credential)

    admin_client.post(
        reverse("admin:providers_providercredential_changelist"),
        {
            "action": "accept_held_changes_of_credentials",
            "_selected_action": [custom_credential.pk],
        },
    )

    assert active_ids(custom_credential) == {"c"}


def test_accepting_without_a_held_change_changes_nothing(stub_adapter, custom_credential):
    seed_active(stub_adapter, custom_credential, "a")

    run = catalog_held_accept(credential=custom_credential)

    assert run.status == SyncRun.Status.FAILED
    assert "no held change" in run.results["homelab"]["error"]
    assert active_ids(custom_credential) == {"a"}


def test_the_admin_lists_held_changes_with_their_counts(
    stub_adapter, custom_credential, admin_client
):
    seed_active(stub_adapter, custom_credential, "a", "b", "c")
    stub_adapter.models = [free("c")]
    catalog_sync(credential=custom_credential)

    page = admin_client.get(reverse("admin:catalog_heldcatalogchange_changelist"))

    assert page.status_code == 200
    assert "homelab" in page.content.decode()


def test_the_status_api_shows_a_held_change_with_its_counts(
    stub_adapter, custom_credential, api_client
):
    seed_active(stub_adapter, custom_credential, "a", "b", "c")
    stub_adapter.models = [free("c"), free("d")]
    catalog_sync_credential(credential=custom_credential)

    body = api_client.get("/v1/providers/status").json()

    (entry,) = body["data"]
    assert entry["needs_review"] == {"active_before": 3, "would_remove": 2, "would_add": 1}
    assert entry["stale"] is True
    assert "held for review" in entry["last_sync_error"]
    assert body["last_sync_run"]["status"] == "needs_review"
    assert entry["models"]["total"] == 3  # the catalog as it was

"""catalog_sync: free models flow in, upserts are bulk and idempotent, failures keep the catalog."""

import pytest
import requests
from django.utils import timezone

from catalog.locks import lock_acquire
from catalog.models import CatalogModel, SyncRun
from catalog.services import catalog_sync, catalog_sync_all, catalog_sync_credential
from providers.encryption import Ciphertext
from providers.errors import ProviderError
from providers.models import ProviderCredential
from providers.registry import adapter_for
from providers.wire import CATEGORIES, ModelInfo
from tests.catalog.factories import (
    CUSTOM_MODELS_URL,
    GROQ_MODELS_URL,
    StubAdapter,
    free,
    make_credential,
    models_named,
    seed_model,
)
from tests.conftest import provider_fixture


def active_ids(credential) -> set[str]:
    return set(
        CatalogModel.objects.filter(credential=credential, is_active=True).values_list(
            "public_id", flat=True
        )
    )


def snapshot(credential) -> list[tuple]:
    return list(
        CatalogModel.objects.filter(credential=credential)
        .order_by("pk")
        .values_list("public_id", "is_active", "updated_at", "last_seen", "context_length")
    )


# ---- free rule results flow into the catalog -----------------------------------------------


def test_groq_listing_stores_exactly_the_adapters_free_models_with_categories(
    groq_credential, http_mock
):
    payload = provider_fixture("groq/models_list.json")
    http_mock.get(GROQ_MODELS_URL, json=payload)
    adapter = adapter_for(groq_credential)
    verdicts = [adapter.parse_model(raw) for raw in payload["data"]]
    expected = {
        f"groq/{info.upstream_id}": info.category
        for info in verdicts
        if info and info.free and info.category in CATEGORIES
    }

    result = catalog_sync(credential=groq_credential)

    stored = dict(
        CatalogModel.objects.filter(credential=groq_credential, is_active=True).values_list(
            "public_id", "category"
        )
    )
    assert result.error == ""
    assert expected, "the groq fixture must yield free models"
    assert stored == expected
    assert result.added == len(expected)
    assert stored["groq/canopylabs/orpheus-v1-english"] == "speech"
    assert stored["groq/meta-llama/llama-4-scout-17b-16e-instruct"] == "vision"
    assert stored["groq/openai/gpt-oss-120b"] == "text"
    assert stored["groq/whisper-large-v3-turbo"] == "transcription"
    assert not [i for i in stored if "guard" in i]  # moderation
    evidence = CatalogModel.objects.filter(credential=groq_credential).values_list(
        "free_evidence", flat=True
    )
    assert all(evidence)


def test_only_free_models_of_catalog_categories_are_kept(stub_adapter, custom_credential):
    stub_adapter.models = [
        free("chat"),
        free("eyes", "vision"),
        free("draw", "image"),
        free("talk", "speech", voices=["alloy"]),
        ModelInfo(upstream_id="paid-chat", category="text", free=False),
        free("embedder", "embedding"),
        free("ears", "transcription"),
        free("rank", "rerank"),
    ]

    catalog_sync(credential=custom_credential)

    stored = dict(
        CatalogModel.objects.filter(credential=custom_credential).values_list(
            "upstream_id", "category"
        )
    )
    assert stored == {
        "chat": "text",
        "eyes": "vision",
        "draw": "image",
        "talk": "speech",
        "embedder": "embedding",
        "ears": "transcription",
    }
    assert CatalogModel.objects.get(upstream_id="talk").voices == ["alloy"]
    assert CatalogModel.objects.get(upstream_id="chat").public_id == "homelab/chat"


# ---- failures keep the catalog ---------------------------------------------------------------

FAILURES = {
    "401": {"status": 401, "json": {"error": {"message": "Invalid API Key"}}},
    "403": {"status": 403, "json": {"error": {"message": "forbidden"}}},
    "429": {"status": 429, "json": {"error": {"message": "slow down"}}},
    "500": {"status": 500, "json": {"error": {"message": "boom"}}},
    "503-html": {"status": 503, "body": "<html><body><h1>Bad gateway</h1></body></html>"},
    "402": {"status": 402, "json": {"error": {"code": "PAYMENT_METHOD_REQUIRED"}}},
    "410": {"status": 410, "json": {"error": {"message": "github_models_retirement_brownout"}}},
    "timeout": {"body": requests.exceptions.ReadTimeout("read timed out")},
    "refused": {"body": requests.exceptions.ConnectionError("refused")},
    "garbage-html-200": {"status": 200, "body": "<html>maintenance</html>"},
    "garbage-shape": {"status": 200, "json": {"models": "nope"}},
    "garbage-list-of-strings": {"status": 200, "json": "just a string"},
    "empty": {"status": 200, "json": {"object": "list", "data": []}},
}


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
def test_a_failing_listing_leaves_the_catalog_unchanged_and_records_the_error(
    custom_credential, http_mock, failure
):
    seed_model(custom_credential, "kept-a")
    seed_model(custom_credential, "kept-b", category="vision")
    before = snapshot(custom_credential)
    http_mock.get(CUSTOM_MODELS_URL, **failure)

    run = catalog_sync_credential(credential=custom_credential)

    custom_credential.refresh_from_db()
    assert snapshot(custom_credential) == before
    assert custom_credential.last_sync_error
    assert "<" not in custom_credential.last_sync_error
    assert run.status == SyncRun.Status.FAILED
    outcome = run.results["homelab"]
    assert outcome["error"] == custom_credential.last_sync_error
    assert (outcome["added"], outcome["removed"], outcome["changed"]) == (0, 0, 0)
    assert run.finished_at is not None


@pytest.mark.parametrize("status", [401, 403])
def test_a_bad_key_marks_the_credential_auth_failed(custom_credential, http_mock, status):
    http_mock.get(CUSTOM_MODELS_URL, status=status, json={"error": {"message": "bad key"}})

    catalog_sync(credential=custom_credential)

    custom_credential.refresh_from_db()
    assert custom_credential.state == ProviderCredential.State.AUTH_FAILED
    assert "authentication failed" in custom_credential.last_sync_error


def test_an_adapter_bug_is_recorded_not_raised(stub_adapter, custom_credential):
    seed_model(custom_credential, "kept")
    stub_adapter.error = KeyError("context_window")

    result = catalog_sync(credential=custom_credential)

    assert result.error == "model listing failed (KeyError)"
    assert active_ids(custom_credential) == {"homelab/kept"}


def test_an_empty_listing_on_a_new_credential_is_not_an_error(stub_adapter, custom_credential):
    stub_adapter.models = []

    result = catalog_sync(credential=custom_credential)

    assert result.error == ""
    assert (result.added, result.removed, result.changed) == (0, 0, 0)


def test_a_listing_where_nothing_is_free_any_more_is_held_then_applied_when_confirmed(
    stub_adapter, custom_credential
):
    stub_adapter.models = [free("a"), free("b")]
    catalog_sync(credential=custom_credential)
    stub_adapter.models = [ModelInfo(upstream_id="a", free=False), ModelInfo("b", free=False)]

    held = catalog_sync(credential=custom_credential)
    assert (held.error, held.needs_review, held.removed, held.would_remove) == ("", True, 0, 2)
    assert active_ids(custom_credential) == {"homelab/a", "homelab/b"}

    confirmed = catalog_sync(credential=custom_credential)

    assert (confirmed.error, confirmed.needs_review, confirmed.removed) == ("", False, 2)
    assert active_ids(custom_credential) == set()


def test_one_provider_failing_does_not_stop_the_others(workspace, stubs):
    broken = make_credential(workspace, name="broken")
    healthy = make_credential(workspace, name="healthy")
    seed_model(broken, "old")
    stubs["broken"], stubs["healthy"] = StubAdapter(), StubAdapter()
    stubs["broken"].error = ProviderError("upstream error: HTTP 500", kind="upstream", status=500)
    stubs["healthy"].models = [free("new")]

    (run,) = catalog_sync_all(workspace_id=workspace.pk)

    assert run.status == SyncRun.Status.PARTIAL
    assert run.results["broken"]["error"] == "upstream error: HTTP 500"
    assert run.results["healthy"] == {
        "provider": "custom",
        "added": 1,
        "removed": 0,
        "changed": 0,
        "price_unreadable": 0,
        "error": "",
        "skipped": False,
        "needs_review": False,
        "would_add": 0,
        "would_remove": 0,
    }
    assert active_ids(broken) == {"broken/old"}
    assert active_ids(healthy) == {"healthy/new"}


# ---- upsert mechanics --------------------------------------------------------------------------


def test_a_model_that_turned_paid_is_deactivated_at_once(stub_adapter, custom_credential):
    stub_adapter.models = [free("stays"), free("turns-paid")]
    catalog_sync(credential=custom_credential)
    stub_adapter.models = [free("stays"), ModelInfo(upstream_id="turns-paid", free=False)]

    result = catalog_sync(credential=custom_credential)

    assert result.removed == 1
    assert active_ids(custom_credential) == {"homelab/stays"}


def test_a_vanished_model_is_deactivated_not_deleted_and_keeps_last_seen(
    stub_adapter, custom_credential
):
    stub_adapter.models = [free("a"), free("b")]
    catalog_sync(credential=custom_credential)
    seen_before = CatalogModel.objects.get(upstream_id="b").last_seen
    stub_adapter.models = [free("a")]

    result = catalog_sync(credential=custom_credential)

    gone = CatalogModel.objects.get(upstream_id="b")
    assert (result.added, result.removed, result.changed) == (0, 1, 0)
    assert gone.is_active is False
    assert gone.last_seen == seen_before
    assert CatalogModel.objects.get(upstream_id="a").last_seen > seen_before


def test_a_model_that_comes_back_is_reactivated_as_added(stub_adapter, custom_credential):
    stub_adapter.models = [free("a")]
    catalog_sync(credential=custom_credential)
    stub_adapter.models = [free("b")]
    catalog_sync(credential=custom_credential)
    stub_adapter.models = [free("a"), free("b")]

    result = catalog_sync(credential=custom_credential)

    assert (result.added, result.removed, result.changed) == (1, 0, 0)
    assert active_ids(custom_credential) == {"homelab/a", "homelab/b"}
    assert CatalogModel.objects.filter(credential=custom_credential).count() == 2


def test_a_second_identical_sync_changes_nothing(stub_adapter, custom_credential):
    stub_adapter.models = models_named(30)
    catalog_sync_credential(credential=custom_credential)
    stamps = dict(CatalogModel.objects.values_list("upstream_id", "updated_at"))

    run = catalog_sync_credential(credential=custom_credential)

    outcome = run.results["homelab"]
    assert (outcome["added"], outcome["removed"], outcome["changed"], outcome["error"]) == (
        0,
        0,
        0,
        "",
    )
    assert run.status == SyncRun.Status.OK
    assert dict(CatalogModel.objects.values_list("upstream_id", "updated_at")) == stamps
    assert CatalogModel.objects.count() == 30


def test_a_real_change_updates_only_that_model(stub_adapter, custom_credential):
    stub_adapter.models = [free("a", context_length=8192), free("b", context_length=8192)]
    catalog_sync(credential=custom_credential)
    before = dict(CatalogModel.objects.values_list("upstream_id", "updated_at"))
    stub_adapter.models = [free("a", context_length=32768), free("b", context_length=8192)]

    result = catalog_sync(credential=custom_credential)

    after = dict(CatalogModel.objects.values_list("upstream_id", "updated_at"))
    assert (result.added, result.removed, result.changed) == (0, 0, 1)
    assert after["a"] > before["a"]
    assert after["b"] == before["b"]
    assert CatalogModel.objects.get(upstream_id="a").context_length == 32768


def test_renaming_a_credential_renames_its_public_ids(stubs, stub_adapter, custom_credential):
    stub_adapter.models = [free("a")]
    catalog_sync(credential=custom_credential)
    custom_credential.name = "lab"
    custom_credential.save()
    stubs["lab"] = stub_adapter

    result = catalog_sync(credential=custom_credential)

    assert result.changed == 1
    assert active_ids(custom_credential) == {"lab/a"}


def test_a_200_model_sync_uses_a_bounded_number_of_queries(
    stub_adapter, custom_credential, django_assert_max_num_queries
):
    stub_adapter.models = models_named(200)
    with django_assert_max_num_queries(12):
        first = catalog_sync(credential=custom_credential)
    stub_adapter.models = [
        *[free(m.upstream_id, context_length=4096) for m in models_named(100)],
        *models_named(100, prefix="fresh"),
    ]

    with django_assert_max_num_queries(12):
        second = catalog_sync(credential=custom_credential)

    assert first.added == 200
    assert (second.added, second.removed, second.changed) == (100, 100, 100)


@pytest.mark.parametrize(
    "start",
    [
        lambda credential: catalog_sync_all(workspace_id=credential.workspace_id),
        lambda credential: catalog_sync_credential(credential=credential),
    ],
    ids=["all", "credential"],
)
def test_a_crash_mid_sync_rolls_back_the_credentials_writes(
    stub_adapter, custom_credential, monkeypatch, start
):
    stub_adapter.models = [free("a")]
    catalog_sync(credential=custom_credential)
    before = snapshot(custom_credential)
    stub_adapter.models = [free("a"), *models_named(50)]

    def crash(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr("catalog.services._record_success", crash)
    with pytest.raises(SystemExit):
        start(custom_credential)

    assert snapshot(custom_credential) == before
    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.FAILED
    assert run.finished_at is not None
    assert lock_acquire(f"catalog-sync:credential:{custom_credential.pk}", timeout=5)


def test_sync_all_records_one_run_per_workspace(workspace, other_user, stubs):
    mine = make_credential(workspace, name="mine")
    theirs = make_credential(other_user.workspace, name="theirs")
    make_credential(workspace, name="off", enabled=False)
    stubs["mine"], stubs["theirs"] = StubAdapter(), StubAdapter()
    stubs["mine"].models = [free("m")]
    stubs["theirs"].error = ProviderError("rate limited: slow down", kind="rate_limited")

    runs = catalog_sync_all()

    by_workspace = {run.workspace_id: run for run in runs}
    assert set(by_workspace) == {workspace.pk, other_user.workspace.pk}
    assert set(by_workspace[workspace.pk].results) == {"mine"}
    assert set(by_workspace[other_user.workspace.pk].results) == {"theirs"}
    assert by_workspace[workspace.pk].status == SyncRun.Status.OK
    assert by_workspace[other_user.workspace.pk].status == SyncRun.Status.FAILED
    assert "off" not in stubs
    assert active_ids(mine) == {"mine/m"}
    assert theirs.catalog_models.count() == 0


def test_sync_all_can_be_limited_to_one_provider(workspace, stubs):
    make_credential(workspace, name="homelab")
    make_credential(workspace, "groq", name="groq")

    (run,) = catalog_sync_all(provider="groq")

    assert set(run.results) == {"groq"}


# ---- hostile data ------------------------------------------------------------------------------


def test_hostile_model_data_is_validated_and_truncated(stub_adapter, custom_credential):
    script = "<script>alert('x')</script>"
    stub_adapter.models = [
        free("evil", name=script * 50, description="A" * 1_000_000, context_length=-5),
        free("typed", name=12345, context_length="lots", max_output_tokens=True),  # type: ignore[arg-type]
        free("stringy", context_length="131072", capabilities={"tools": True, "x": "yes"}),
        free("nul\x00id"),
        free("has space"),
        free("x" * 251),
        free(""),
        free("evil", name="duplicate"),
        free("rtl", name="\u202emodel\u202c\x00\x07", voices=["ok", 5, "", "v" * 500]),
    ]

    result = catalog_sync(credential=custom_credential)

    evil = CatalogModel.objects.get(upstream_id="evil")
    assert result.added == 4
    assert len(evil.name) == 200
    assert evil.name.startswith(script)
    assert len(evil.description) == 2000
    assert evil.context_length is None
    typed = CatalogModel.objects.get(upstream_id="typed")
    assert (typed.name, typed.context_length, typed.max_output_tokens) == ("typed", None, None)
    stringy = CatalogModel.objects.get(upstream_id="stringy")
    assert stringy.context_length == 131072
    assert stringy.capabilities == {"tools": True}
    rtl = CatalogModel.objects.get(upstream_id="rtl")
    assert "\x00" not in rtl.name
    assert "\x07" not in rtl.name
    assert rtl.voices == ["ok", "v" * 100]


def test_last_sync_fields_are_set_on_success(stub_adapter, custom_credential):
    custom_credential.last_sync_error = "old error"
    custom_credential.save()
    stub_adapter.models = [free("a")]
    started = timezone.now()

    catalog_sync(credential=custom_credential)

    custom_credential.refresh_from_db()
    assert custom_credential.last_sync_error == ""
    assert custom_credential.last_sync_at >= started


def test_an_undecryptable_key_fails_the_sync_and_marks_the_credential(custom_credential):
    seed_model(custom_credential, "kept")
    ProviderCredential.objects.filter(pk=custom_credential.pk).update(
        api_key=Ciphertext(b"not a ciphertext")
    )
    credential = ProviderCredential.objects.get(pk=custom_credential.pk)

    result = catalog_sync(credential=credential)

    state = ProviderCredential.objects.filter(pk=credential.pk).values_list("state", flat=True)
    assert "cannot be decrypted" in result.error
    assert state.get() == ProviderCredential.State.UNREADABLE
    assert active_ids(credential) == {"homelab/kept"}


# ---- unreadable prices are refused and counted --------------------------------------------------


def test_models_refused_for_an_unreadable_price_are_counted_in_the_run_and_logged(
    workspace, http_mock, caplog
):
    # given the real free OpenRouter models, two of them with a price shape the rule cannot read
    listing = provider_fixture("openrouter/models_list_free_subset.json")
    rows = [dict(row) for row in listing["data"]]
    broken = {"google/gemma-4-31b-it:free": {"prompt": "0"}, "z-ai/glm-5.2:free": None}
    for row in rows:
        if row["id"] in broken:
            row["pricing"] = broken[row["id"]]
    http_mock.get(
        "https://openrouter.ai/api/v1/models?output_modalities=all", json={**listing, "data": rows}
    )
    credential = make_credential(workspace, "openrouter", name="openrouter")

    (run,) = catalog_sync_all(workspace_id=workspace.pk)

    assert run.results["openrouter"]["price_unreadable"] == 2
    assert run.status == SyncRun.Status.OK
    stored = {public_id.removeprefix("openrouter/") for public_id in active_ids(credential)}
    assert stored
    assert not stored & set(broken)
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and "price" in r.message]
    assert len(warnings) == 1
    assert "2 models" in warnings[0].getMessage()


def test_a_listing_with_readable_prices_counts_no_unreadable_ones(stub_adapter, custom_credential):
    stub_adapter.models = [free("chat"), ModelInfo(upstream_id="paid", not_free_reason="paid")]

    result = catalog_sync(credential=custom_credential)

    assert result.price_unreadable == 0
    assert result.as_dict()["price_unreadable"] == 0

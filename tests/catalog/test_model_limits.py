"""A model's own free-tier limits, set in the admin, are kept by every later sync."""

import pytest

from catalog.models import CatalogModel
from catalog.services import catalog_sync
from gateway.routing.quota import known_limits
from tests.catalog.factories import free
from tests.catalog.test_overrides import CHANGE_URL, admin_override

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(stub_adapter, custom_credential) -> CatalogModel:
    stub_adapter.models = [free("llama", context_length=8192)]
    catalog_sync(credential=custom_credential)
    return CatalogModel.objects.get(upstream_id="llama")


def test_admin_sets_a_models_limits_and_a_resync_keeps_them(
    admin_client, stub_adapter, custom_credential, synced
):
    page = admin_client.get(CHANGE_URL.format(synced.pk)).content.decode()
    assert 'name="override_rpd"' in page

    admin_override(admin_client, synced, override_rpm="3", override_rpd="40")
    stub_adapter.models = [free("llama", context_length=4096)]
    catalog_sync(credential=custom_credential)

    synced.refresh_from_db()
    assert synced.overrides == {"limits": {"rpm": 3, "rpd": 40}}
    assert synced.context_length == 4096  # the listed facts still follow the provider
    assert known_limits(synced) == {"minute": 3, "day": 40}

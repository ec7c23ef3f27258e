"""The yield benchmark's family scenario names one model the way each real provider does."""

from bench.yield_fleet import FAMILY, FAMILY_ROUTES, FLEET
from providers.families import family_of


def test_every_fleet_provider_serves_the_family_under_its_own_id():
    assert set(FAMILY_ROUTES) == {provider.name for provider in FLEET}
    assert len({upstream_id for _, upstream_id in FAMILY_ROUTES.values()}) == 4
    for slug, upstream_id in FAMILY_ROUTES.values():
        assert family_of(upstream_id, provider=slug) == FAMILY

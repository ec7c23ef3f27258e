"""Contract fixtures: the hardening suite's workspace with a model of every category."""

from tests.hardening.conftest import catalog  # noqa: F401 - shared fixture

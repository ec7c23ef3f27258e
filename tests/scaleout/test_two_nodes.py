"""Two web nodes (the Procfile's web line on two ports), one worker and one beat, sharing one
database (PostgreSQL when the suite runs on it) and one Redis: every change made through one node
is seen by the other within a stated bound, and a Redis FLUSHDB costs re-reads, never rows or
stale answers (issue 21)."""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import redis
import requests
from django.conf import settings

from tests.scaleout.conftest import LimitedFake
from tests.scaleout.stack import (
    STARTUP_SECONDS,
    Api,
    Stack,
    WebUser,
    base_env,
    free_port,
    healthy,
    migrate,
    seconds_until_listed,
    wait_until,
)

pytestmark = pytest.mark.redis

RPM = 12  # every key's default per-minute limit on both nodes
CACHE_DB, BROKER_DB = 10, 9  # on a shared REDIS_URL: the databases this test may flush
MODEL = "fake/fake-chat"
COOLING_MODEL = "fake/fake-vision"  # its own route: cooling it leaves MODEL's alone


@dataclass
class Nodes:
    a: str
    b: str
    cache_url: str
    user: WebUser
    stack: Stack


def _redis_db(url: str, db: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


def _postgres_database(tmp_name: str) -> Iterator[str]:
    """A database of its own on the suite's PostgreSQL server, dropped afterwards."""
    import psycopg

    database = settings.DATABASES["default"]
    auth = quote(database["USER"] or "")
    if database.get("PASSWORD"):
        auth += ":" + quote(database["PASSWORD"])
    server = f"postgres://{auth}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
    name = f"{database['NAME']}_{tmp_name}"[:60]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def database_url(tmp_path_factory) -> Iterator[str]:
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        yield from _postgres_database("nodes")
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('nodes-db') / 'db.sqlite3'}"


@pytest.fixture(scope="module")
def nodes(tmp_path_factory, database_url) -> Iterator[Nodes]:
    import os

    tmp = tmp_path_factory.mktemp("nodes")
    stack = Stack(logs=tmp / "logs")
    shared = os.environ.get("REDIS_URL")
    values = {
        "DATABASE_URL": database_url,
        "VAR_DIR": str(tmp / "var"),
        "CACHE_KEY_PREFIX": f"nodes-{os.getpid()}",
        "API_KEY_DEFAULT_RPM": str(RPM),
        "WEB_CONCURRENCY": "1",
    }
    if shared:  # CI's Redis: two databases of its own
        values["REDIS_URL"] = cache_url = _redis_db(shared, CACHE_DB)
        values["CELERY_BROKER_URL"] = _redis_db(shared, BROKER_DB)
        for url in (cache_url, values["CELERY_BROKER_URL"]):
            redis.Redis.from_url(url).flushdb()
    else:  # no Redis configured: the one make run starts (the Procfile's store line)
        cache_url = f"unix://{tmp / 'var' / 'redis.sock'}?db=0"
    try:
        migrate(base_env(**values))
        if not shared:
            stack.start("store", "store", base_env(**values))
        ports = free_port(), free_port()
        for name, port in zip(("web-a", "web-b"), ports, strict=True):
            stack.start(name, "web", base_env(**values, PORT=str(port)))
        stack.start("worker", "worker", base_env(**values))
        stack.start("beat", "beat", base_env(**values))
        a, b = (f"http://127.0.0.1:{port}" for port in ports)
        for base in (a, b):
            wait_until(lambda base=base: healthy(base), seconds=STARTUP_SECONDS, what=base)
        user = WebUser(a)
        user.sign_up("nodes@example.com")
        yield Nodes(a=a, b=b, cache_url=cache_url, user=user, stack=stack)
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def provider(nodes) -> Iterator[LimitedFake]:
    """A provider saved through node A, listed on node B within 2 s of its sync."""
    with LimitedFake(delay=0.0) as fake:
        _, key = nodes.user.create_key("listing")
        on_b = Api(nodes.b, key)
        assert MODEL not in on_b.model_ids()  # B has a cached listing without it

        nodes.user.add_custom_provider("fake", fake.base_url)

        delay = seconds_until_listed(on_b, "fake", MODEL, seconds=60)
        assert delay <= 2.0, nodes.stack.tails()
        yield fake


def test_a_provider_saved_on_a_is_listed_on_b_within_2_s_of_its_sync(nodes, provider):
    _, key = nodes.user.create_key("both")
    assert MODEL in Api(nodes.a, key).model_ids()
    assert MODEL in Api(nodes.b, key).model_ids()


def test_a_key_revoked_on_b_is_refused_on_a_within_1_s(nodes, provider):
    key_id, key = nodes.user.create_key("revoked on b")
    on_a = Api(nodes.a, key)
    assert on_a.get("/v1/models").status_code == 200  # now in A's auth cache

    nodes.user.at(nodes.b).revoke_key(key_id)
    revoked_at = time.monotonic()

    wait_until(lambda: on_a.get("/v1/models").status_code == 401, seconds=1.0, what="refused")
    assert time.monotonic() - revoked_at <= 1.0


def test_a_cooldown_recorded_on_a_is_honoured_on_b(nodes, provider):
    _, key = nodes.user.create_key("cooldown")
    provider.rate_limited = True
    try:
        cooled = Api(nodes.a, key).chat(COOLING_MODEL)  # upstream 429: A cools the route down
    finally:
        provider.rate_limited = False
    assert cooled.status_code == 429, cooled.text
    calls = provider.chat_calls()

    response = Api(nodes.b, key).chat(COOLING_MODEL)

    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "rate_limited_upstream"
    assert provider.chat_calls() == calls  # B did not call the provider it knows is cooling


def _away_from_a_minute_boundary() -> bool:
    return time.time() % 60 < 40  # the burst below fits in one fixed minute window


def test_per_key_limits_count_exactly_across_both_nodes(nodes, provider):
    _, key = nodes.user.create_key("limited")
    wait_until(_away_from_a_minute_boundary, seconds=25, what="a fresh minute", every=0.2)

    statuses = [Api(base, key).chat(MODEL).status_code for base in (nodes.a, nodes.b) * RPM]

    assert statuses.count(200) == RPM, statuses
    assert statuses.count(429) == RPM, statuses


def test_a_flushdb_loses_no_request_log_row_and_serves_no_stale_listing(nodes, provider):
    _, key = nodes.user.create_key("flush")
    on_a, on_b = Api(nodes.a, key), Api(nodes.b, key)
    request_ids = []
    for round_ in range(3):
        for api in (on_a, on_b):
            response = api.chat(MODEL)
            assert response.status_code == 200, response.text
            request_ids.append(response.headers["x-request-id"])
        if round_ == 1:
            redis.Redis.from_url(nodes.cache_url).flushdb()
    assert MODEL in on_a.model_ids()
    assert MODEL in on_b.model_ids()

    for request_id in request_ids:  # written by the nodes' log writers within their flush
        wait_until(
            lambda request_id=request_id: on_a.get(f"/v1/generation?id={request_id}").ok,
            seconds=10,
            what=f"the log row of {request_id}",
        )

    # After the flush, a change made on A is what B lists on its next request.
    redis.Redis.from_url(nodes.cache_url).flushdb()
    nodes.user.delete_provider("fake")
    wait_until(lambda: MODEL not in on_b.model_ids(), seconds=2.0, what="B forgets the model")
    nodes.stack.assert_running()


def test_the_nodes_answer_while_the_test_ran(nodes):
    for base in (nodes.a, nodes.b):
        assert requests.get(base + "/healthz", timeout=5).status_code == 200

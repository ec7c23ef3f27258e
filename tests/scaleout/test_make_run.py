"""`make run`'s processes on its embedded defaults (SQLite, the Redis its `store` line starts, no
REDIS_URL) share state: a provider added through the web pages is listed by every web worker
within 2 s of its sync finishing in the Celery worker, and a key revoked on a page is refused by
every web worker at once (issue 21: the listing took minutes with a per-process cache)."""

import pytest

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

LISTED_WITHIN_SECONDS = 2.0
REVOKED_WITHIN_SECONDS = 1.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("make-run")
    running = Stack(logs=tmp_path / "logs")
    try:
        yield running, tmp_path
    finally:
        running.stop()


@pytest.fixture(scope="module")
def make_run(stack):
    """web (two gunicorn workers), worker, beat and store, as `make run` starts them."""
    stack, tmp_path = stack
    port = free_port()
    env = base_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        VAR_DIR=str(tmp_path / "var"),
        PORT=str(port),
        WEB_CONCURRENCY="2",
    )
    migrate(env)
    for line in ("store", "web", "worker", "beat"):
        stack.start(line, line, env)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: healthy(base), seconds=STARTUP_SECONDS, what="make run's web is healthy")
    stack.assert_running()
    return base


def test_a_provider_added_on_the_web_is_listed_by_every_web_worker_after_its_sync(
    make_run, stack, fake
):
    stack, _ = stack
    user = WebUser(make_run)
    user.sign_up("ada@example.com")
    _, key = user.create_key("app")
    api = Api(make_run, key)
    assert "fake/fake-chat" not in api.model_ids()  # cached before the provider exists

    user.add_custom_provider("fake", fake.base_url)

    delay = seconds_until_listed(api, "fake", "fake/fake-chat", seconds=60)
    assert delay <= LISTED_WITHIN_SECONDS, stack.tails()
    # Every later listing, whichever web worker answers it, has it too.
    assert all("fake/fake-chat" in api.model_ids() for _ in range(10))
    assert api.chat("fake/fake-chat").status_code == 200


def test_a_key_revoked_on_a_page_is_refused_by_every_web_worker(make_run, stack):
    stack, _ = stack
    user = WebUser(make_run)
    user.sign_up("bob@example.com")
    key_id, key = user.create_key("soon revoked")
    api = Api(make_run, key)
    for _ in range(6):  # both workers have looked the key up (and cached it)
        assert api.get("/v1/models").status_code == 200

    user.revoke_key(key_id)

    wait_until(
        lambda: all(api.get("/v1/models").status_code == 401 for _ in range(6)),
        seconds=REVOKED_WITHIN_SECONDS,
        what="the revoked key is refused",
    )
    stack.assert_running()


def test_when_the_embedded_redis_dies_it_comes_back_and_the_web_keeps_serving(
    make_run, stack, fake
):
    import os
    import signal

    import psutil

    stack, _ = stack
    user = WebUser(make_run)
    user.sign_up("carol@example.com")
    _, key = user.create_key("outage")
    api = Api(make_run, key)
    server = next(
        child
        for child in psutil.Process(stack.processes["store"].pid).children()
        if "redis-server" in child.name()
    )

    os.kill(server.pid, signal.SIGKILL)

    # The listing fails open (rendered from the database) while the store is away...
    for _ in range(20):
        assert api.get("/v1/models").status_code == 200
    # ...and the store is back, empty, within seconds: limits count again, the broker reconnects.
    wait_until(lambda: healthy(make_run), seconds=15, what="the store is back")
    user.add_custom_provider("after-outage", fake.base_url)
    seconds_until_listed(api, "after-outage", "after-outage/fake-chat", seconds=60)
    assert api.chat("after-outage/fake-chat").status_code == 200
    stack.assert_running()

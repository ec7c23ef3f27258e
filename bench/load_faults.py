"""Bounded loopback fault test: 1,000 concurrent streams while clients hang up and upstreams fail.

10 % of the clients hang up after 5 events; 10 % of the calls to the first model fail with a
500 before the first byte (the mock's `f10`), so the gateway must fall back to a second
credential's model. The circuit breaker is set out of reach for this run so that every failure
exercises the fallback (with the default threshold the flaky route would be skipped after three).

Checks, on one gunicorn gevent worker:
- nothing dropped: every client that did not hang up got every chunk and [DONE], no error event;
- fallback: one RequestLog row with a failed first attempt per injected failure;
- no leaked sockets or file descriptors in the worker (/proc/<pid>/fd before and after): no
  client socket left, no CLOSE_WAIT, upstream sockets only as idle pooled keep-alives
  (at most the pool size), other descriptors unchanged;
- exactly one RequestLog row per request, none left in progress, counted by status;
- on the provider side (the mock's counters): every upstream stream ended and its open
  connections equal the gateway's idle pooled ones (no half-open upstream on either side).

Then the hostile-tenant load (`run_tenant_attacks`, issue 14): another key's plain requests are
measured quiet, then again while an attacker workspace, from 127.0.0.2 and .3, holds slow
bodies (connections that send fewer bytes than their Content-Length and wait) and sends poisoned
rows, one every 50 ms: a NUL in
a playground form field, and on /v1 a chat answered by the attacker's own custom provider with
usage counts past any integer column (/v1 bodies cannot carry a NUL: the parser refuses it).
Checks: the other key's p50 stays within 2x of its quiet figure, every one of its requests is
answered and has its log row, every poisoned request is answered without a 5xx and has a clean
row, and no slow body is still held once REQUEST_BODY_TIMEOUT_SECONDS (5 s for the run) passed.

Usage: .venv/bin/python bench/load_faults.py [--streams 1000] [--victims 400]
[--only faults|attacks] [--keep] (also `bench/run.py --faults`).
"""

import argparse
import asyncio
import json
import os
import secrets
import sys
import time
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import psutil  # noqa: E402
from load import (  # noqa: E402
    Connection,
    Result,
    build_request,
    chat_request,
    closed_loop,
    open_streams,
    percentile,
)
from run import CHAT_PATH, HIGH_LIMIT, HOST, PLAIN_MODEL, Harness, Report  # noqa: E402

FLAKY = "flaky/flaky-c20-d50-f10"
STEADY = "steady/steady-c20-d50"
CHUNKS = 20
HANG_UP_EVERY = 10  # client i hangs up when i % 10 == 5
HANG_UP_AFTER_EVENTS = 5
FAULT_ENV = {"GATEWAY_BREAKER_THRESHOLD": "1000000"}
SETTLE_SECONDS = 30


def upstream_pool_size() -> int:
    """pool_maxsize of the gateway's upstream transport (providers/transport.py http_pool_for)."""
    from providers.transport import http_pool_for

    return http_pool_for("custom")._pool_maxsize


def hangs_up(index: int) -> int | None:
    return HANG_UP_AFTER_EVENTS if index % HANG_UP_EVERY == HANG_UP_EVERY // 2 else None


def fd_census(pid: int, gateway_port: int, mock_port: int) -> dict[str, int]:
    """The worker's descriptors by kind, and its TCP sockets by peer and state."""
    census: Counter[str] = Counter()
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        kind = target.split(":", 1)[0] if ":" in target and not target.startswith("/") else "file"
        census[f"fd:{kind}"] += 1
    for conn in psutil.Process(pid).net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN:
            census["tcp:listen"] += 1
        elif conn.raddr and conn.raddr.port == mock_port:
            census[f"upstream:{conn.status}"] += 1
        elif conn.laddr and conn.laddr.port == gateway_port:
            census[f"client:{conn.status}"] += 1
        else:
            peer = conn.raddr.port if conn.raddr else "-"
            census[f"other:{peer}:{conn.status}"] += 1
    return dict(census)


async def mock_call(port: int, method: str, path: str) -> dict:
    connection = Connection(HOST, port)
    result = await connection.send(build_request(method, HOST, port, path))
    connection.close()
    return json.loads(result.body or b"{}")


def log_rows(workspace_id: int, request_ids: list[str]) -> dict[str, dict]:
    """The RequestLog rows of these request ids: id -> {status, attempts}."""
    from django.db import connections

    from gateway.models import RequestLog

    rows = RequestLog.objects.filter(workspace_id=workspace_id, id__in=request_ids)
    found = {row["id"]: row for row in rows.values("id", "status", "attempts")}
    connections.close_all()
    return found


def fell_back(row: dict) -> bool:
    attempts = row["attempts"]
    return isinstance(attempts, list) and len(attempts) >= 2 and attempts[0].get("status") != "ok"


def wait_settled(workspace_id: int, request_ids: list[str]) -> None:
    """Until no row of this run is in progress (streams finish their log row on close)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        rows = log_rows(workspace_id, request_ids)
        in_progress = any(row["status"] == "in_progress" for row in rows.values())
        if len(rows) == len(request_ids) and not in_progress:
            return
        time.sleep(0.5)


def run_faults(h: Harness, count: int, report: Report) -> bool:
    """Run the fault load against a (re)started gateway; adds checks to `report`."""
    print(f"\n[faults] {count} streams: 10 % hang up early, 10 % of first calls fail upstream")
    h.extra_env = {**h.extra_env, **FAULT_ENV}
    h.restart_gateway()
    workspace_id = h.workspace_id
    body = {"models": [FLAKY, STEADY]}

    def make(_: int) -> bytes:
        return chat_request(HOST, h.port, CHAT_PATH, FLAKY, key=h.key, stream=True, **body)

    warm = asyncio.run(open_streams(HOST, h.port, make, count=20))
    wait_settled(workspace_id, [r.request_id for r in warm if r.request_id])
    time.sleep(1)
    pid = h.worker_pid()
    before = fd_census(pid, h.port, h.mock_port)
    asyncio.run(mock_call(h.mock_port, "POST", "/_reset"))

    results = asyncio.run(open_streams(HOST, h.port, make, count=count, disconnect=hangs_up))
    ids = [r.request_id for r in results if r.request_id]
    wait_settled(workspace_id, ids)
    time.sleep(1)
    after = fd_census(pid, h.port, h.mock_port)
    mock = asyncio.run(mock_call(h.mock_port, "GET", "/_stats"))
    rows = log_rows(workspace_id, ids)
    by_status = Counter(row["status"] for row in rows.values())
    fallbacks = sum(1 for row in rows.values() if fell_back(row))

    hung_up = [r for i, r in enumerate(results) if hangs_up(i) is not None]
    expected = [r for i, r in enumerate(results) if hangs_up(i) is None]
    complete = [r for r in expected if r.ok and r.done and r.events >= CHUNKS]
    dropped = [r.error or f"HTTP {r.status}" for r in expected if r not in complete]
    # A client that hung up is logged client_disconnected, or success when the whole answer had
    # already been written to its socket (the server cannot tell); the others must be success.
    expected_ok = all(rows.get(r.request_id, {}).get("status") == "success" for r in expected)
    hung_up_ok = all(
        rows.get(r.request_id, {}).get("status") in ("client_disconnected", "success")
        for r in hung_up
    )
    print(
        f"  clients: {len(complete)}/{len(expected)} complete, {len(hung_up)} hung up on purpose"
        + (f"; dropped: {Counter(dropped).most_common(3)}" if dropped else "")
    )
    print(f"  mock: {mock}")
    print(
        f"  request log: {len(rows)} rows for {len(ids)} request ids; by status {dict(by_status)}"
    )
    print(f"  rows that fell back after a failed first attempt: {fallbacks}")
    print(f"  worker fds before: {before}")
    print(f"  worker fds after:  {after}")

    def others(census: dict[str, int]) -> int:
        return sum(v for k, v in census.items() if k.startswith("fd:") and k != "fd:socket")

    pool_size = upstream_pool_size()
    clients_left = sum(v for k, v in after.items() if k.startswith("client:"))
    close_wait = sum(v for k, v in after.items() if k.endswith("CLOSE_WAIT"))
    upstream_open = sum(v for k, v in after.items() if k.startswith("upstream:"))
    sockets_accounted = after.get("fd:socket", 0) == (
        after.get("tcp:listen", 0) + upstream_open + clients_left
    ) + sum(v for k, v in after.items() if k.startswith("other:"))
    # The provider's view of the same run: every stream it started ended (completed, or cut
    # because the gateway closed it after its client hung up), and it holds exactly the
    # connections the gateway keeps idle in its pool (its own /_stats connection excluded).
    # "Cut" is a lower bound: a short stream's tail is often already in the socket buffers
    # when the gateway closes it, so the mock counts it completed.
    streams_started = mock.get("streams_started", 0)
    streams_completed = mock.get("streams_completed", 0)
    streams_aborted = mock.get("streams_aborted_by_peer", 0)
    mock_open = asyncio.run(mock_call(h.mock_port, "GET", "/_stats")).get("connections_open", 0) - 1
    checks = [
        ("streams not hung up: complete", f"{len(complete)}/{len(expected)}", "all", not dropped),
        (
            "fallbacks = injected upstream failures",
            f"{fallbacks}/{mock.get('failures_injected', 0)}",
            "equal",
            fallbacks == mock.get("failures_injected", -1) and fallbacks > 0,
        ),
        (
            "one log row per request",
            f"{len(rows)}/{len(results)}",
            "exactly one",
            len(rows) == len(results) == len(ids),
        ),
        (
            "log status per request",
            f"{by_status.get('success', 0)} ok/{by_status.get('client_disconnected', 0)} gone",
            "ok unless hung up",
            expected_ok and hung_up_ok,
        ),
        (
            "no client socket / CLOSE_WAIT left",
            f"{clients_left} / {close_wait}",
            "0 / 0",
            clients_left == 0 and close_wait == 0,
        ),
        (
            "upstream sockets only pooled idle",
            f"{upstream_open} idle",
            f"<= {pool_size} (pool)",
            upstream_open <= pool_size and sockets_accounted,
        ),
        (
            "upstream streams all ended (mock side)",
            f"{streams_started} = {streams_completed} done + {streams_aborted} cut",
            "started = done + cut",
            streams_started == streams_completed + streams_aborted and streams_started > 0,
        ),
        (
            "upstream connections open (mock side)",
            f"{mock_open} / gateway {upstream_open}",
            "equal (idle pool only)",
            mock_open == upstream_open,
        ),
        (
            "other fds unchanged",
            f"{others(before)} -> {others(after)}",
            "unchanged",
            others(after) == others(before),
        ),
    ]
    for name, measured, target, passed in checks:
        report.add(6, name, measured, target, passed)
    return all(check[-1] for check in checks)


# ---- the hostile tenant (issue 14) ---------------------------------------------------------
# The body deadline shortened so the run is short; the in-flight bounds at their defaults (the
# harness lifts them for the other scenarios). Settings a branch lacks are ignored.
ATTACK_ENV = {
    "REQUEST_BODY_TIMEOUT_SECONDS": "5",
    "API_KEY_MAX_CONCURRENT_REQUESTS": "50",
    "CLIENT_MAX_CONCURRENT_REQUESTS": "50",
    "CLIENT_MAX_PENDING_BODIES": "20",
}
# The attacker connects from loopback addresses of its own, as a real one would from its hosts:
# per-address bounds apply to it, not to the other key's clients on 127.0.0.1. Poison comes
# from a second host, so the slow bodies' refusals (per address) do not stop it.
SLOW_BODY_ADDRESS = "127.0.0.2"
POISON_ADDRESS = "127.0.0.3"
SLOW_BODIES = 60  # more than the per-key (50) and per-address (20 pending bodies) bounds
SLOW_DECLARED_BYTES = 1000
SLOW_SENT = b'{"model": "mock/bench", "messages": ['
SLOW_HOLD_PAST_DEADLINE_SECONDS = 3  # past REQUEST_BODY_TIMEOUT_SECONDS, a held body is a MISS
VICTIM_CONCURRENCY = 4
POISON_INTERVAL_SECONDS = 0.05
HOSTILE_MODEL = "hostile-u1"  # the mock reports usage past any integer column (mock_upstream.py)


def attacker_credentials(mock_port: int) -> tuple[str, str, str]:
    """A second workspace with its own custom provider (the mock) and model: a key for slow
    bodies, a key for poisoned /v1 requests, and a signed-in session (cookie value)."""
    from django.db import connections
    from django.test import Client
    from django.utils import timezone

    from accounts.models import ApiKey, User
    from accounts.services import api_key_create
    from catalog.models import CatalogModel
    from providers.models import ProviderCredential

    user = User.objects.create_user(
        f"attacker-{secrets.token_hex(4)}@example.com", password=secrets.token_hex(16)
    )
    credential = ProviderCredential.objects.create(
        workspace=user.workspace,
        provider="custom",
        name="hostile",
        base_url=f"http://{HOST}:{mock_port}/v1",
        state="ok",
    )
    CatalogModel.objects.create(
        workspace=user.workspace,
        credential=credential,
        provider="custom",
        public_id=f"hostile/{HOSTILE_MODEL}",
        upstream_id=HOSTILE_MODEL,
        name=HOSTILE_MODEL,
        category="text",
        context_length=131072,
        max_output_tokens=8192,
        capabilities={"streaming": True},
        free_evidence="self-hosted",
        last_seen=timezone.now(),
        updated_at=timezone.now(),
    )
    keys = []
    for name in ("slow bodies", "poison"):
        created = api_key_create(workspace=user.workspace, name=name)
        ApiKey.objects.filter(pk=created.api_key.pk).update(
            rpm_limit=HIGH_LIMIT, rpd_limit=HIGH_LIMIT
        )
        keys.append(created.plaintext)
    client = Client()
    client.force_login(user)  # a database session: the gateway's worker reads the same one
    session = client.cookies["sessionid"].value
    connections.close_all()
    return keys[0], keys[1], session


def poisoned_requests(port: int, key: str, session: str) -> list[bytes]:
    """A NUL in a playground form field; a /v1 chat whose upstream reports hostile usage."""
    csrf = secrets.token_hex(16)  # 32 characters: an unmasked CSRF secret, cookie = header
    form = b"model=a%00b&input=hello&voice=alloy"
    playground = build_request(
        "POST",
        HOST,
        port,
        "/playground/speech",
        body=form,
        headers={"Cookie": f"sessionid={session}; csrftoken={csrf}", "X-CSRFToken": csrf},
        content_type="application/x-www-form-urlencoded",
    )
    return [playground, chat_request(HOST, port, CHAT_PATH, f"hostile/{HOSTILE_MODEL}", key=key)]


async def hold_slow_body(port: int, key: str, stop: asyncio.Event) -> str:
    """Send the head and part of the body, then wait: the answer's status, or "held"."""
    head = (
        f"POST {CHAT_PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {SLOW_DECLARED_BYTES}\r\n\r\n"
    )
    try:
        reader, writer = await asyncio.open_connection(
            HOST, port, local_addr=(SLOW_BODY_ADDRESS, 0)
        )
    except OSError as error:
        return f"connect failed: {type(error).__name__}"
    writer.write(head.encode() + SLOW_SENT)
    answer = asyncio.ensure_future(reader.readuntil(b"\r\n"))
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({answer, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not answer.done():
            return "held"
        try:
            return answer.result().decode("latin-1").split(" ", 2)[1]
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            return "closed"
    finally:
        answer.cancel()
        stopped.cancel()
        writer.close()


async def poison_loop(port: int, requests: list[bytes], stop: asyncio.Event) -> list[Result]:
    """One poisoned request every POISON_INTERVAL_SECONDS, the kinds in turn, until stopped."""
    results: list[Result] = []
    connection = Connection(HOST, port, source=POISON_ADDRESS)
    try:
        while not stop.is_set():
            results.append(await connection.send(requests[len(results) % len(requests)]))
            await asyncio.sleep(POISON_INTERVAL_SECONDS)
    finally:
        connection.close()
    return results


async def attack_phase(
    h: Harness, victims: int, slow_key: str, poisoned: list[bytes]
) -> tuple[list[Result], list[str], list[Result], float]:
    """Slow bodies held, poison sent, while the victim's closed loop runs; then the slow
    connections are given until past the body deadline to be answered."""
    stop_poison, stop_slow = asyncio.Event(), asyncio.Event()
    slow = [
        asyncio.ensure_future(hold_slow_body(h.port, slow_key, stop_slow))
        for _ in range(SLOW_BODIES)
    ]
    await asyncio.sleep(0.5)  # the slow heads are in before the victim starts
    started = time.monotonic()
    poison = asyncio.ensure_future(poison_loop(h.port, poisoned, stop_poison))
    victim, _ = await closed_loop(
        HOST,
        h.port,
        lambda _: h.gateway_chat(PLAIN_MODEL),
        concurrency=VICTIM_CONCURRENCY,
        total=victims,
    )
    stop_poison.set()
    poisoned_results = await poison
    body_deadline = float(ATTACK_ENV["REQUEST_BODY_TIMEOUT_SECONDS"])
    wait = started + body_deadline + SLOW_HOLD_PAST_DEADLINE_SECONDS - time.monotonic()
    await asyncio.wait(slow, timeout=max(wait, 0))
    stop_slow.set()
    outcomes = list(await asyncio.gather(*slow))
    return victim, outcomes, poisoned_results, time.monotonic() - started


def rows_by_id(request_ids: list[str]) -> dict[str, dict]:
    from django.db import connections

    from gateway.models import RequestLog

    found = {
        row["id"]: row
        for row in RequestLog.objects.filter(id__in=request_ids).values(
            "id", "status", "requested_model", "prompt_tokens"
        )
    }
    connections.close_all()
    return found


def wait_for_rows(request_ids: list[str]) -> dict[str, dict]:
    """Until every id has a finished row, or SETTLE_SECONDS."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        rows = rows_by_id(request_ids)
        finished = all(row["status"] != "in_progress" for row in rows.values())
        if (len(rows) == len(request_ids) and finished) or time.monotonic() > deadline:
            return rows
        time.sleep(0.5)


def run_tenant_attacks(h: Harness, victims: int, report: Report) -> bool:
    """Another key's latency and log rows, quiet and then under slow bodies and poisoned rows."""
    print(
        f"\n[attacks] {victims} plain requests of another key, quiet and then under "
        f"{SLOW_BODIES} slow bodies and a stream of poisoned rows"
    )
    h.extra_env = {**h.extra_env, **ATTACK_ENV}
    h.restart_gateway()
    slow_key, poison_key, session = attacker_credentials(h.mock_port)
    poisoned = poisoned_requests(h.port, poison_key, session)

    def victim_load() -> list[Result]:
        results, _ = asyncio.run(
            closed_loop(
                HOST,
                h.port,
                lambda _: h.gateway_chat(PLAIN_MODEL),
                concurrency=VICTIM_CONCURRENCY,
                total=victims,
            )
        )
        return results

    victim_load()  # warm-up
    quiet = victim_load()
    attacked, slow, poison, seconds = asyncio.run(attack_phase(h, victims, slow_key, poisoned))

    victim_ids = [r.request_id for r in quiet + attacked if r.request_id]
    poison_ids = [r.request_id for r in poison if r.request_id]
    rows = wait_for_rows(victim_ids + poison_ids)
    victim_rows = [rows.get(i) for i in victim_ids]
    poison_rows = [rows[i] for i in poison_ids if i in rows]

    def ms(results: list[Result], pct: float) -> float:
        return percentile([r.latency * 1000 for r in results if r.ok], pct)

    quiet_p50, attacked_p50 = ms(quiet, 50), ms(attacked, 50)
    victims_ok = [r for r in quiet + attacked if r.ok]
    poison_statuses = Counter(r.status for r in poison)
    slow_outcomes = Counter(slow)
    clean = all(
        "\x00" not in row["requested_model"] and row["prompt_tokens"] is None for row in poison_rows
    )
    refused = h.log_count("refused by the database")
    write_failed = h.log_count("request log write failed")
    print(
        f"  other key: quiet p50 {quiet_p50:.1f} ms p99 {ms(quiet, 99):.1f} ms; attacked p50 "
        f"{attacked_p50:.1f} ms p99 {ms(attacked, 99):.1f} ms ({seconds:.1f} s under attack)"
    )
    print(f"  slow bodies: {dict(slow_outcomes)}")
    print(
        f"  poisoned requests: {len(poison)} by status {dict(poison_statuses)}, "
        f"{len(poison_rows)} rows, all clean {clean}"
    )
    print(f"  gunicorn log: {write_failed} 'request log write failed', {refused} rows refused")
    checks = [
        (
            "other key p50 under attack / quiet",
            f"{attacked_p50:.1f} / {quiet_p50:.1f} ms",
            "<= 2x",
            attacked_p50 <= 2 * quiet_p50,
        ),
        (
            "other key requests answered 200",
            f"{len(victims_ok)}/{len(quiet) + len(attacked)}",
            "all",
            len(victims_ok) == len(quiet) + len(attacked),
        ),
        (
            "other key requests with a log row",
            f"{sum(1 for row in victim_rows if row and row['status'] == 'success')}"
            f"/{len(victim_ids)}",
            "all, success",
            all(row and row["status"] == "success" for row in victim_rows)
            and len(victim_ids) == len(quiet) + len(attacked),
        ),
        (
            "poisoned requests: no 5xx, each logged",
            f"{sum(n for s, n in poison_statuses.items() if s >= 500)} 5xx, "
            f"{len(poison_rows)}/{len(poison)} rows",
            "0 5xx, all rows",
            not any(s >= 500 or s == 0 for s in poison_statuses)
            and len(poison_rows) == len(poison) > 0
            and clean,
        ),
        (
            "slow bodies answered by the deadline",
            f"{len(slow) - slow_outcomes.get('held', 0)}/{len(slow)}",
            "all (408 or 429)",
            slow_outcomes.get("held", 0) == 0,
        ),
    ]
    for name, measured, target, passed in checks:
        report.add(7, name, measured, target, passed)
    return all(check[-1] for check in checks)


def main() -> int:
    parser = argparse.ArgumentParser(description="gateway fault load on loopback")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--victims", type=int, default=400)
    parser.add_argument("--only", choices=["faults", "attacks"], default=None)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    harness = Harness(keep=args.keep)
    report = Report()
    try:
        harness.start()
        if args.only != "attacks":
            run_faults(harness, args.streams, report)
        if args.only != "faults":
            run_tenant_attacks(harness, args.victims, report)
    finally:
        harness.stop()
    report.print()
    return 0 if all(c.passed for c in report.checks) else 1


if __name__ == "__main__":
    sys.exit(main())

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

Usage: .venv/bin/python bench/load_faults.py [--streams 1000] [--keep]
(also `bench/run.py --faults`).
"""

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import psutil  # noqa: E402
from load import Connection, build_request, chat_request, open_streams  # noqa: E402
from run import CHAT_PATH, HOST, Harness, Report  # noqa: E402

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


def main() -> int:
    parser = argparse.ArgumentParser(description="gateway fault load on loopback")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    harness = Harness(keep=args.keep)
    report = Report()
    try:
        harness.start()
        run_faults(harness, args.streams, report)
    finally:
        harness.stop()
    report.print()
    return 0 if all(c.passed for c in report.checks) else 1


if __name__ == "__main__":
    sys.exit(main())

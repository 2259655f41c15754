"""Tracking throughput: the app's collect endpoint against the bare Django baseline.

Both are served by gunicorn (gthread, same workers and threads) on the same PostgreSQL server and
driven by the same keep-alive load client with what ``journeys.js`` sends: one batch per page,
a page view and the engaged time of the page before it, from many browsers. The baseline is the
ingestion benchmark's view (``benchmarks/baseline``), which parses each body and INSERTs it.
See benchmarks/README.md.

    python benchmarks/collect.py [--requests N] [--visitors V] [--concurrency C] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
import ingest

APP_DB = "sj_bench_collect"
BASELINE_DB = "sj_bench_collect_baseline"
# Redis database 14: the app's broker (nothing is published without journeys) and its cache,
# which holds the rate-limit counters as a deployment with several web processes must.
REDIS_URL = "redis://127.0.0.1:6379/14"
STOREFRONT = "https://shop.bench"
EVENTS_PER_REQUEST = 2
BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
HEADERS = {
    "Content-Type": "text/plain;charset=UTF-8",
    "Origin": STOREFRONT,
    "User-Agent": BROWSER,
    "Accept": "*/*",
}
# The bundled project's settings with an IP limit that one load client on loopback does not
# reach; the rate-limit counters go to Redis (``CACHE_URL``), shared by the gunicorn workers as
# in production.
SETTINGS = """
from saleor_journeys.project.settings import *  # noqa: F403
from saleor_journeys.project.settings import SALEOR_JOURNEYS

SALEOR_JOURNEYS = {**SALEOR_JOURNEYS, "WEB_RATE_PER_IP": 10**9}
"""

# --- setup ------------------------------------------------------------------------------------


def create_databases(env: dict[str, str]) -> None:
    harness.recreate_database(APP_DB)
    harness.recreate_database(BASELINE_DB)
    with harness.connect(BASELINE_DB) as conn:
        conn.execute(ingest.TABLE_DDL)
    harness.migrate(env)


def install(env: dict[str, str]) -> str:
    """An Installation with its site, whose storefront is ``STOREFRONT``; returns the site key."""
    harness.setup_django(env)
    from saleor_journeys.saleor.models import Installation
    from saleor_journeys.web import sites

    installation = Installation.objects.create(
        saleor_api_url=harness.API_URL, saleor_domain="saleor.bench", is_active=True
    )
    site = sites.site_for(installation)
    site.origins = [STOREFRONT]
    site.save()
    harness.close_django()
    return site.key


def baseline_env() -> dict[str, str]:
    env = ingest.baseline_env()
    env["BASELINE_DATABASE_URL"] = f"{ingest.PG}/{BASELINE_DB}"
    return env


# --- what browsers send -----------------------------------------------------------------------


def _page_path(visitor: int, n: int) -> str:
    """The ``n``-th page of a browser: a product page every other time."""
    return f"/products/item-{visitor % 500}" if n % 2 == 0 else f"/collections/c-{n % 20}"


def make_bodies(label: str, count: int, visitors: int) -> list[bytes]:
    """``count`` batches of ``visitors`` browsers, each browser's pages in turn: a page view
    (a product page every other time) and the engaged time of the browser's previous page (on
    its first page, a custom event)."""
    bodies = []
    for i in range(count):
        visitor, n = i % visitors, i // visitors
        uid = f"v_{label}_{visitor:07d}"
        view: dict[str, Any] = {
            "id": f"e_{uid}_{n:04d}",
            "type": "page",
            "age": 0,
            "url": STOREFRONT + _page_path(visitor, n),
            "title": f"Page {n} of browser {visitor}",
            "referrer": STOREFRONT + "/",
        }
        if n % 2 == 0:
            view["product"] = {
                "id": f"UHJvZHVjdDo{visitor % 500:04d}",
                "name": f"Item {visitor % 500}",
                "price": "35.00",
                "currency": "USD",
            }
        events: list[dict[str, Any]] = [view]
        if n:  # the engaged time of the previous page, sent when that page was left
            engaged = {
                "id": f"e_{uid}_{n:04d}_e",
                "type": "engaged",
                "age": 1200,
                "page": f"e_{uid}_{n - 1:04d}",
                "url": STOREFRONT + _page_path(visitor, n - 1),
                "seconds": 17.5,
            }
            events.insert(0, engaged)
        else:  # a browser's first page: a custom event instead
            landing = {"utm_source": "bench"}
            events.append(
                {"id": f"e_{uid}_t", "type": "track", "age": 0, "name": "landing", "props": landing}
            )
        bodies.append(json.dumps({"v": uid, "events": events}).encode())
    return bodies


# --- load -------------------------------------------------------------------------------------


def fire(port: int, path: str, bodies: list[bytes], concurrency: int) -> ingest.Result:
    """POST every body once over ``concurrency`` keep-alive connections; only 200 counts."""
    return ingest.post_all(port, [(path, body, HEADERS) for body in bodies], concurrency, {200})


@dataclass
class Side:
    name: str
    server: ingest.Server
    path: str
    db: str
    table: str


def count_rows(side: Side) -> int:
    return ingest.count_rows(side.db, side.table)


def measure(side: Side, bodies: list[bytes], concurrency: int) -> ingest.Result:
    """One timed run, with the CPU its server, PostgreSQL and Redis spent and the rows written."""
    redis_pid = redis.Redis.from_url(REDIS_URL).info("server")["process_id"]
    rows_before = count_rows(side)
    cpu_before, db_before = harness.group_cpu(side.server.proc.pid), ingest.backends_cpu(side.db)
    redis_before = harness.pid_cpu(redis_pid)
    result = fire(side.server.port, side.path, bodies, concurrency)
    result.server_cpu = harness.group_cpu(side.server.proc.pid) - cpu_before
    result.redis_cpu = harness.pid_cpu(redis_pid) - redis_before
    db_after = ingest.backends_cpu(side.db)
    result.db_cpu = sum(v - db_before.get(pid, 0.0) for pid, v in db_after.items())
    result.written = count_rows(side) - rows_before
    return result


def report(name: str, r: ingest.Result, sent: int) -> None:
    events = r.rate * EVENTS_PER_REQUEST
    print(
        f"  {name:11} {r.ok}/{sent} ok in {r.elapsed:.2f}s = {r.rate:,.0f} req/s,"
        f" {events:,.0f} events/s  (latency p50 {r.percentile(0.5):.1f} ms,"
        f" p99 {r.percentile(0.99):.1f} ms; CPU ms/request: server"
        f" {r.server_cpu / sent * 1000:.2f}, postgres {r.db_cpu / sent * 1000:.2f},"
        f" redis {r.redis_cpu / sent * 1000:.2f}, client {r.client_cpu / sent * 1000:.2f})"
    )
    if r.failures:
        print(f"  {name:11} FAILED: {r.failures}; e.g. {r.samples}")


def check_app(expected_events: int, expected_visitors: int) -> tuple[int, int]:
    """The app stored exactly the events and visitors sent, each on its visitor's card."""
    with harness.connect(APP_DB) as conn:
        events, orphans = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE e.contact_id IS DISTINCT FROM v.contact_id)"
            " FROM saleor_journeys_event e"
            " LEFT JOIN saleor_journeys_visitor v ON v.uid = e.data->>'visitor'"
            " WHERE e.source = 'web'"
        ).fetchone()  # type: ignore[misc]
        (visitors,) = conn.execute("SELECT count(*) FROM saleor_journeys_visitor").fetchone()  # type: ignore[misc]
    assert events == expected_events, f"{events} web events stored, expected {expected_events}"
    assert orphans == 0, f"{orphans} events are not on their visitor's card"
    assert visitors == expected_visitors, f"{visitors} visitors, expected {expected_visitors}"
    return events, visitors


# --- where a request's time goes ----------------------------------------------------------------

# The functions a collect request spends its time in, timed inside real requests.
TIMED = (
    ("saleor_journeys.web.collect", "parse", "collect.parse (validation)"),
    ("saleor_journeys.web.ratelimit", "check", "ratelimit.check (cache)"),
    ("saleor_journeys.web.collect", "ingest", "collect.ingest (transaction)"),
    ("saleor_journeys.web.visitors", "visitor_for", "  visitors.visitor_for"),
    ("saleor_journeys.web.collect", "_engaged_data", "  the engaged page's product"),
    ("saleor_journeys.events.log", "record", "  events.log.record (x2)"),
    ("saleor_journeys.contacts.score", "add", "    contacts.score.add"),
    ("saleor_journeys.runtime.runs", "on_event", "    runtime.runs.on_event"),
    ("saleor_journeys.web.onsite", "messages_for", "  web.onsite.messages_for"),
    ("saleor_journeys.web.push", "public_key", "  web.push.public_key"),
)


def profile(site_key: str, count: int) -> None:
    """Send ``count`` batches (new browsers) to the app's WSGI application in this process and
    print the CPU each timed function takes per request (this process only; PostgreSQL's part
    is not in it) and the queries per request."""
    import importlib

    from django.db import connection
    from django.test import Client

    spent: dict[str, float] = {label: 0.0 for _, _, label in TIMED}

    def timed(function: Any, label: str) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] += time.process_time() - began

        return wrapper

    for module_name, name, label in TIMED:
        module = importlib.import_module(module_name)
        setattr(module, name, timed(getattr(module, name), label))
    client = Client(SERVER_NAME="127.0.0.1")
    path = f"/api/web/{site_key}/collect"
    bodies = make_bodies("profile", count, max(1, count // 4))
    headers = {k: v for k, v in HEADERS.items() if k != "Content-Type"}

    def send(body: bytes) -> None:
        response = client.post(path, body, content_type=HEADERS["Content-Type"], headers=headers)
        assert response.status_code == 200, response.content[:200]

    for body in bodies[: count // 10]:  # warm-up
        send(body)
    for label in spent:
        spent[label] = 0.0
    measured = bodies[count // 10 :]
    statements = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    began, began_wall = time.process_time(), time.perf_counter()
    with connection.execute_wrapper(count):
        for body in measured:
            send(body)
    total, wall = time.process_time() - began, time.perf_counter() - began_wall
    n = len(measured)
    print(
        f"in-process profile, {n} requests: {total / n * 1000:.2f} ms CPU in this process and"
        f" {wall / n * 1000:.2f} ms wall per request, {statements / n:.1f} SQL statements"
        " (savepoints included)"
    )
    for label, seconds in spent.items():
        print(f"  {label:32} {seconds / n * 1000:6.2f} ms  {seconds / total * 100:4.0f} %")
    connection.close()


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--requests", "-n", type=int, default=2000, help="requests per run")
    parser.add_argument("--visitors", "-v", type=int, default=500, help="browsers per run")
    parser.add_argument("--concurrency", "-c", type=int, default=16, help="client connections")
    parser.add_argument("--workers", "-w", type=int, default=2, help="gunicorn workers (both)")
    parser.add_argument("--threads", "-t", type=int, default=4, help="threads per worker (both)")
    parser.add_argument("--rounds", "-r", type=int, default=3, help="runs per server, alternated")
    parser.add_argument("--warmup", type=int, default=200, help="uncounted requests per server")
    parser.add_argument(
        "--profile", type=int, default=1000, help="in-process requests to time (0: none)"
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' logs")
    args = parser.parse_args()
    harness.exit_on_sigterm()
    n, rounds, visitors = args.requests, args.rounds, min(args.visitors, args.requests)

    workdir = Path(tempfile.mkdtemp(prefix="sj-bench-collect-"))
    settings_dir = workdir / "settings"
    settings_dir.mkdir()
    (settings_dir / "collect_settings.py").write_text(SETTINGS)
    env = harness.app_env(APP_DB, REDIS_URL, workdir / "data")
    env.update(
        DJANGO_SETTINGS_MODULE="collect_settings",
        PYTHONPATH=str(settings_dir),
        CACHE_URL=REDIS_URL,
    )
    sys.path.insert(0, str(settings_dir))
    store = redis.Redis.from_url(REDIS_URL)
    servers: list[ingest.Server] = []
    try:
        t0 = time.perf_counter()
        store.flushdb()
        create_databases(env)
        site_key = install(env)
        warmup = make_bodies("warm", args.warmup, max(1, args.warmup // 4))
        runs = [make_bodies(f"r{r}", n, visitors) for r in range(rounds)]
        port = ingest.free_port()
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            *ingest.gunicorn_options(port, args.workers, args.threads),
        ]
        argv += [f"--chdir={harness.HERE}", "baseline.wsgi:application"]
        baseline = ingest.Server("baseline", argv, baseline_env(), port, workdir / "baseline.log")
        servers.append(baseline)
        app = ingest.start_app(
            env, ingest.free_port(), args.workers, args.threads, workdir / "app.log"
        )
        servers.append(app)
        sides = {
            "baseline": Side("baseline", baseline, "/api/webhooks/collect", BASELINE_DB, "ingest"),
            "app": Side(
                "app", app, f"/api/web/{site_key}/collect", APP_DB, "saleor_journeys_event"
            ),
        }
        for side in sides.values():
            side.server.wait_ready()
            warm = fire(side.server.port, side.path, warmup, min(args.concurrency, len(warmup)))
            assert not warm.failures, f"{side.name} warm-up failed: {warm.failures} {warm.samples}"
        print(
            f"setup {time.perf_counter() - t0:.1f}s: batches of a page view and the engaged time"
            f" of the page before (a page view and a custom event on a browser's first page),"
            f" ~{len(runs[0][-1])} B each; {visitors} browsers of {n // visitors} pages per run;"
            f" gunicorn gthread, {args.workers} workers x {args.threads} threads each;"
            f" N={n} per run, C={args.concurrency}, {rounds} rounds, warm-up {args.warmup};"
            f" {harness.machine()}"
        )

        results: dict[str, list[ingest.Result]] = {"baseline": [], "app": []}
        for r in range(rounds):
            # Alternate who goes first, so a drift in the machine's load hits both alike.
            order = ("baseline", "app") if r % 2 == 0 else ("app", "baseline")
            for name in order:
                result = measure(sides[name], runs[r], args.concurrency)
                report(f"{name} #{r + 1}", result, n)
                results[name].append(result)
                assert not result.failures, f"{name}: non-200 answers {result.failures}"
                expected = n if name == "baseline" else n * EVENTS_PER_REQUEST
                assert result.written == expected, f"{name}: {result.written} rows, not {expected}"

        events, stored_visitors = check_app(
            (len(warmup) + rounds * n) * EVENTS_PER_REQUEST,
            max(1, args.warmup // 4) + rounds * visitors,
        )
        print(
            f"app stored {events:,} events of {stored_visitors:,} visitors, each on its"
            " visitor's card"
        )
        app_rate = statistics.median(r.rate for r in results["app"]) * EVENTS_PER_REQUEST
        base_rate = statistics.median(r.rate for r in results["baseline"]) * EVENTS_PER_REQUEST
        print(
            f"app: {app_rate:,.0f} events/s  baseline: {base_rate:,.0f} events/s  ratio:"
            f" {app_rate / base_rate:.2f}  (medians of {rounds}; {EVENTS_PER_REQUEST} events per"
            f" request; W={args.workers} T={args.threads} N={n} C={args.concurrency})"
        )
        cpu = {
            k: sum(r.server_cpu + r.db_cpu + r.redis_cpu for r in v) / (rounds * n) * 1000
            for k, v in results.items()
        }
        print(
            f"CPU per request (server + postgres + redis): app {cpu['app']:.2f} ms  "
            f"baseline {cpu['baseline']:.2f} ms  ratio: {cpu['baseline'] / cpu['app']:.2f}"
        )
        if args.profile:
            for server in servers:
                server.stop()
            servers.clear()  # the machine to this process alone
            profile(site_key, args.profile)
    finally:
        for server in servers:
            server.stop()
        harness.close_django()
        harness.drop_databases(APP_DB, BASELINE_DB)
        harness.clean_up([store], workdir, keep_logs=args.keep_logs)


if __name__ == "__main__":
    main()

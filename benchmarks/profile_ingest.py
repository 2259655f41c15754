"""Where one webhook request of the app spends its time, in-process, without HTTP or gunicorn.

Sets up the same database, Installation and signed deliveries as ``ingest.py``, then, in this
process and one thread, times the steps of ``saleor/webhooks.py`` ``receive()`` one by one, the
whole of ``receive()``, and the whole request through the app's WSGI application (middleware,
view, the INSERT and the Celery publish to Redis). With ``--cprofile`` it also prints the most
expensive functions of the WSGI path under cProfile.

    python benchmarks/profile_ingest.py [--requests N] [--cprofile] [--sort tottime|cumulative]

The steps call the package's internals by name; a step the package no longer has shows n/a.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest


def environ(delivery: ingest.Delivery) -> dict[str, object]:
    env: dict[str, object] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": ingest.PATH,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(delivery.body)),
        "wsgi.input": io.BytesIO(delivery.body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in delivery.headers.items():
        if name != "Content-Type":
            env["HTTP_" + name.upper().replace("-", "_")] = value
    return env


def measure(step: Callable[[ingest.Delivery], object], deliveries: list[ingest.Delivery]):
    """Mean wall and CPU milliseconds of ``step`` over ``deliveries``."""
    wall, cpu = time.perf_counter(), time.process_time()
    for d in deliveries:
        step(d)
    n = len(deliveries)
    return (time.perf_counter() - wall) / n * 1000, (time.process_time() - cpu) / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", "-n", type=int, default=1000, help="calls per step")
    parser.add_argument("--rounds", "-r", type=int, default=3, help="the best round counts")
    parser.add_argument("--cprofile", action="store_true", help="also print a cProfile listing")
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    parser.add_argument("--top", type=int, default=35)
    args = parser.parse_args()
    n = args.requests

    workdir = tempfile.mkdtemp(prefix="sj-profile-")
    broker = redis.Redis.from_url(ingest.BROKER_URL)
    try:
        broker.flushdb()
        ingest.create_databases()
        key, kid, jwks = ingest.make_key()
        env = ingest.app_env(workdir)
        ingest.install(env, jwks)
        fresh: Iterator[ingest.Delivery] = iter(
            ingest.make_deliveries(100 + (3 * args.rounds + 1) * n, key, kid, start=0)
        )

        def batch(count: int) -> list[ingest.Delivery]:
            return list(itertools.islice(fresh, count))

        from django.core.wsgi import get_wsgi_application

        from saleor_journeys.runtime import tasks
        from saleor_journeys.saleor import keys, webhooks
        from saleor_journeys.saleor.models import Installation
        from saleor_journeys.triggers import registry

        app = get_wsgi_application()
        statuses: list[str] = []

        def start_response(status: str, headers: object, exc_info: object = None) -> None:
            statuses.append(status)

        def request(d: ingest.Delivery) -> None:
            response = app(environ(d), start_response)
            b"".join(response)
            response.close()  # type: ignore[attr-defined]

        def receive(d: ingest.Delivery) -> None:
            webhooks.receive(
                api_url=ingest.API_URL,
                event=ingest.EVENT,
                signature=d.headers["Saleor-Signature"],
                body=d.body,
            )

        installation = Installation.objects.get(saleor_api_url=ingest.API_URL)
        trigger = registry.get(ingest.EVENT)
        assert trigger is not None
        stored_ids: list[int] = []

        def store_only(d: ingest.Delivery) -> None:
            # _store with the on-commit publish left out, to separate the two.
            payload = trigger.parse(d.body.decode())
            with mock.patch.object(tasks, "enqueue_delivery", lambda _id: None):
                delivery_id, _ = webhooks._store(
                    installation, trigger.name, d.body.decode(), payload.issued_at
                )
            stored_ids.append(delivery_id)

        def publish(d: ingest.Delivery) -> None:
            tasks.enqueue_delivery(stored_ids[len(stored_ids) // 2])

        steps: list[tuple[str, Callable[[ingest.Delivery], object], bool]] = [
            ("whole request through WSGI", request, True),
            ("receive()", receive, True),
            (
                "  Installation lookup (ORM .first())",
                lambda d: Installation.objects.filter(
                    saleor_api_url=ingest.API_URL, is_active=True
                ).first(),
                False,
            ),
            (
                "  keys.verify (JWS)",
                lambda d: keys.verify(installation, d.headers["Saleor-Signature"], d.body),
                False,
            ),
            ("  trigger.parse (json + pydantic)", lambda d: trigger.parse(d.body.decode()), False),
            ("  parse + _store, no publish (tx+INSERT)", store_only, True),
            ("  enqueue_delivery (Celery -> Redis)", publish, False),
        ]
        request_batch = batch(100)
        for d in request_batch:  # warm-up: connections, caches, imports
            request(d)
        reusable = request_batch
        # Each step runs ``rounds`` times over n calls; the fastest round counts (the machine may
        # be shared, and interference only ever adds time).
        best: dict[str, tuple[float, float]] = {}
        for _ in range(args.rounds):
            for label, step, needs_fresh in steps:
                items = batch(n) if needs_fresh else (reusable * (n // len(reusable) + 1))[:n]
                try:
                    wall, cpu = measure(step, items)
                except Exception as exc:
                    best[label] = (float("nan"), float("nan"))
                    print(f"  {label}: n/a ({type(exc).__name__}: {exc})")
                    continue
                old = best.get(label, (wall, cpu))
                best[label] = (min(old[0], wall), min(old[1], cpu))
        whole = best[steps[0][0]][1]
        print(
            f"in-process, one thread, {n} calls per step, best of {args.rounds} rounds: "
            "mean ms per call, and CPU as a share of the whole request's"
        )
        print(f"  {'step':42} {'wall':>7} {'CPU':>7} {'share':>6}")
        for label, (wall, cpu) in best.items():
            print(f"  {label:42} {wall:7.3f} {cpu:7.3f} {cpu / whole:6.0%}")
        outside = whole - best["receive()"][1]
        print(f"  {'outside receive(): Django, middleware, view':42} {'':7} {outside:7.3f}", end="")
        print(f" {outside / whole:6.0%}")
        bad = [s for s in statuses if not s.startswith("2")]
        assert not bad, f"non-2xx answers: {bad[:5]}"

        if args.cprofile:
            profiler = cProfile.Profile(time.process_time)
            items = batch(n)
            profiler.enable()
            for d in items:
                request(d)
            profiler.disable()
            print(f"\ncProfile (CPU time) of {n} whole requests; the profiler inflates Python code")
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
    finally:
        from django.db import connections

        connections.close_all()
        ingest.drop_databases()
        broker.flushdb()


if __name__ == "__main__":
    main()

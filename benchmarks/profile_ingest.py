"""Where one webhook request of the app spends its CPU, in-process, without HTTP or gunicorn.

Sets up the same database, Installation and signed deliveries as ``ingest.py``, then calls the
app's WSGI application directly in this process and one thread (middleware, view, ``receive()``,
the INSERT, the Celery publish to Redis). It prints

1. the cost of a whole request, best of ``--rounds`` (the machine may be shared: interference
   only ever adds time, so the fastest round is the truest);
2. the same requests with timers around the steps of ``saleor/webhooks.py`` ``receive()``, each
   step's CPU per request and its share of the whole request's, measured in the same run so
   the shares add up;
3. with ``--cprofile``, the most expensive functions under cProfile (which inflates Python code,
   so read it for *what*, not *how much*).

    python benchmarks/profile_ingest.py [--requests N] [--rounds R] [--cprofile]

The steps are patched by name; a step the package no longer has is reported and left out.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import itertools
import pstats
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


def timed(spent: Counter[str], label: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` adding the CPU seconds of each call to ``spent[label]``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.process_time()
        try:
            return func(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - began

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", "-n", type=int, default=1000, help="requests per round")
    parser.add_argument("--rounds", "-r", type=int, default=3, help="the best round counts")
    parser.add_argument("--cprofile", action="store_true", help="also print a cProfile listing")
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    parser.add_argument("--top", type=int, default=35)
    args = parser.parse_args()
    n, rounds = args.requests, args.rounds

    workdir = tempfile.mkdtemp(prefix="sj-profile-")
    broker = redis.Redis.from_url(ingest.BROKER_URL)
    try:
        broker.flushdb()
        ingest.create_databases()
        key, kid, jwks = ingest.make_key()
        ingest.install(ingest.app_env(workdir), jwks)
        total = 100 + (2 * rounds + 1) * n
        fresh: Iterator[ingest.Delivery] = iter(ingest.make_deliveries(total, key, kid, start=0))

        def batch(count: int) -> list[ingest.Delivery]:
            return list(itertools.islice(fresh, count))

        from django.core.wsgi import get_wsgi_application
        from django.db.models.query import QuerySet

        from saleor_journeys.runtime import tasks
        from saleor_journeys.saleor import keys, webhooks
        from saleor_journeys.triggers import registry

        app = get_wsgi_application()
        statuses: Counter[str] = Counter()

        def start_response(status: str, headers: object, exc_info: object = None) -> None:
            statuses[status] += 1

        def request(d: ingest.Delivery) -> None:
            response = app(environ(d), start_response)
            b"".join(response)
            response.close()  # type: ignore[attr-defined]

        def run(items: list[ingest.Delivery]) -> tuple[float, float]:
            wall, cpu = time.perf_counter(), time.process_time()
            for d in items:
                request(d)
            per = 1000 / len(items)
            return (time.perf_counter() - wall) * per, (time.process_time() - cpu) * per

        for d in batch(100):  # warm-up: connections, caches, imports
            request(d)

        # 1. Whole requests, untouched.
        best_wall, best_cpu = min(run(batch(n)) for _ in range(rounds))
        print(f"whole request, in-process, one thread, best of {rounds} x {n}:")
        print(f"  {best_wall:.3f} ms wall, {best_cpu:.3f} ms CPU in this process\n")

        # 2. The same with timers around the steps; the fastest round is shown.
        steps: list[tuple[str, object, str]] = [
            ("receive()", webhooks, "receive"),
            ("  Installation lookup (QuerySet.first)", QuerySet, "first"),
            ("  keys.verify (JWS, keys_of)", keys, "verify"),
            ("  trigger.parse (json + pydantic)", registry.SaleorTrigger, "parse"),
            ("  _store (tx, set_config, INSERT, commit)", webhooks, "_store"),
            ("    enqueue_delivery (Celery -> Redis)", tasks, "enqueue_delivery"),
        ]
        spent: Counter[str] = Counter()
        originals = []
        for label, owner, name in steps:
            if not hasattr(owner, name):
                print(f"  ({label.strip()}: {owner!r} has no {name}; left out)")
                continue
            originals.append((owner, name, getattr(owner, name)))
            setattr(owner, name, timed(spent, label, getattr(owner, name)))
        best: tuple[float, Counter[str]] | None = None
        try:
            for _ in range(rounds):
                spent.clear()
                _, cpu = run(batch(n))
                if best is None or cpu < best[0]:
                    best = (cpu, Counter({k: v * 1000 / n for k, v in spent.items()}))
        finally:
            for owner, name, original in originals:
                setattr(owner, name, original)
        assert best is not None
        whole, parts = best
        print(f"the steps of a whole request, CPU ms per request, fastest of {rounds} rounds:")
        print(f"  {'whole request':44} {whole:7.3f}   100%")
        for label, *_ in steps:
            if label in parts:
                print(f"  {label:44} {parts[label]:7.3f} {parts[label] / whole:6.0%}")
        if "  _store (tx, set_config, INSERT, commit)" in parts:
            own = parts["  _store (tx, set_config, INSERT, commit)"] - parts.get(
                "    enqueue_delivery (Celery -> Redis)", 0.0
            )
            label = "    _store without the publish"
            print(f"  {label:44} {own:7.3f} {own / whole:6.0%}")
        if "receive()" in parts:
            outside = whole - parts["receive()"]
            label = "outside receive(): Django, middleware, view"
            print(f"  {label:44} {outside:7.3f} {outside / whole:6.0%}")

        bad = {s: c for s, c in statuses.items() if not s.startswith("2")}
        assert not bad, f"non-2xx answers: {bad}"

        if args.cprofile:
            profiler = cProfile.Profile(time.process_time)
            items = batch(n)
            profiler.enable()
            for d in items:
                request(d)
            profiler.disable()
            print(f"\ncProfile (CPU time) of {n} whole requests:")
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
    finally:
        from django.db import connections

        connections.close_all()
        ingest.drop_databases()
        broker.flushdb()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Where a run's time goes in ``runs.advance()``, in-process, without Celery.

Sets up its own database (``sj_bench_profile``) with the journeys of ``steps.py`` (4 steps per
run) and ``sweeper.py`` (a wait that ended, then exit), then, in this process and one thread,
advances ``--runs`` runs of each and prints

1. the wall time of a run, its CPU in this process and its queries;
2. the time spent in the runtime's helpers (``facts_for``, ``_record``, ``_act``,
   ``_tag_events``, ``on_event``, ``_save``) and in SQL round trips, each as a share of the run;
3. two what-ifs on fresh runs: a new database connection for every run (what a Celery worker
   with Django does for every task unless ``CELERY_DB_REUSE_MAX`` is set), and ``facts_for``
   answering from the contact's card only, without its order and event queries (an upper bound
   for loading facts lazily, once per run).

    python benchmarks/profile_runs.py [--runs N]

The helpers are patched by name; one the runtime no longer has is reported and left out.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
import steps
import sweeper

DB = "sj_bench_profile"
HELPERS = ("facts_for", "_record", "_act", "_tag_events", "on_event", "_save")


def timed(spent: Counter[str], label: str, func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - began

    return wrapper


def breakdown(title: str, ids: list[int]) -> None:
    from django.db import connection

    from saleor_journeys.runtime import runs

    spent: Counter[str] = Counter()
    queries = 0

    def sql(execute: Any, statement: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        queries += 1
        began = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            spent["SQL round trips (all)"] += time.perf_counter() - began

    originals = {name: getattr(runs, name) for name in HELPERS if hasattr(runs, name)}
    for name in set(HELPERS) - set(originals):
        print(f"  (runs.{name} does not exist; left out)")
    for name, func in originals.items():
        setattr(runs, name, timed(spent, name, func))
    try:
        with connection.execute_wrapper(sql):
            wall, cpu = time.perf_counter(), time.process_time()
            for run_id in ids:
                runs.advance(run_id)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        for name, func in originals.items():
            setattr(runs, name, func)
    n = len(ids)
    print(
        f"{title}: {wall / n * 1000:.2f} ms wall per run, {cpu / n * 1000:.2f} ms CPU in this "
        f"process, {queries / n:.1f} queries"
    )
    for label, seconds in spent.most_common():
        print(f"  {label:24} {seconds / n * 1000:6.2f} ms/run  {seconds / wall:4.0%}")


def per_run(ids: list[int], before: Callable[[], None] = lambda: None) -> float:
    from saleor_journeys.runtime import runs

    began = time.perf_counter()
    for run_id in ids:
        before()
        runs.advance(run_id)
    return (time.perf_counter() - began) / len(ids) * 1000


def what_ifs(title: str, ids: list[int]) -> None:
    from django.db import connection

    from saleor_journeys.journeys.facts import Facts
    from saleor_journeys.runtime import runs

    third = len(ids) // 3
    as_is = per_run(ids[:third])
    reconnecting = per_run(ids[third : 2 * third], before=connection.close)
    original = runs.facts_for

    def card_only(run: Any, now: datetime) -> Facts:
        contact = run.contact
        return Facts(
            contact={"email": contact.email, "score": contact.score, "properties": {}},
            tags=frozenset(contact.tags),
        )

    runs.facts_for = card_only  # type: ignore[assignment]
    try:
        no_facts = per_run(ids[2 * third :])
    finally:
        runs.facts_for = original
    print(
        f"{title}: as is {as_is:.2f} ms/run; a new connection per run {reconnecting:.2f} ms/run;"
        f" facts from the card only {no_facts:.2f} ms/run"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", "-n", type=int, default=600, help="runs of each journey")
    args = parser.parse_args()
    harness.exit_on_sigterm()
    n = args.runs

    work = Path(tempfile.mkdtemp(prefix="sj-bench-profile-"))
    env = harness.app_env(DB, "redis://127.0.0.1:6379/11", work / "data")
    env.pop("CELERY_BROKER_URL")  # nothing is published: tasks would run in this process
    try:
        harness.recreate_database(DB)
        harness.migrate(env)
        harness.setup_django(env)
        from saleor_journeys.core import clock
        from saleor_journeys.journeys.models import Run, RunStatus
        from saleor_journeys.runtime import runs
        from saleor_journeys.saleor.models import Installation

        sweeper.populate(2 * n)  # its own installation and journey
        installation = Installation.objects.create(saleor_api_url="http://other.bench/graphql/")
        journey = steps.make_journey(installation)
        runs._enqueue = lambda run_id: None  # type: ignore[assignment]  (advanced below)
        enrolled = []
        for contact in steps.make_contacts(installation, 2 * n + 1, "p"):
            run = runs.enroll(journey, contact, now=clock.now())
            assert run is not None
            enrolled.append(run.pk)
        due = datetime.now(UTC) - timedelta(seconds=1)
        waiting = Run.objects.filter(status=RunStatus.WAITING)
        waiting.update(wake_at=due, timer_at=due)
        woken = list(waiting.order_by("pk").values_list("pk", flat=True))
        with harness.connect(DB) as conn:
            conn.execute("VACUUM ANALYZE")
        runs.advance(enrolled.pop())  # connected, caches filled
        print(f"{harness.machine()}; {n} runs of each journey per measure\n")
        breakdown("steps.py journey (4 steps)", enrolled[:n])
        breakdown("sweeper.py journey (wait ends, exit)", woken[:n])
        print()
        what_ifs("steps.py journey", enrolled[n:])
        what_ifs("sweeper.py journey", woken[n:])
    finally:
        harness.close_django()
        harness.drop_databases(DB)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

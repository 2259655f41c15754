"""Journey step throughput: real runs on real Celery workers against no-op Celery tasks.

A published journey (manual trigger; update_contact -> condition -> update_contact -> exit, no
waits) is started for N contacts with ``runs.enroll`` in one transaction, whose commit hands
every run to the app's task publisher; ``saleor-journeys worker`` processes step them. The
baseline is N tasks that do nothing but take an id (``acks_late``, as ours), on the same Redis
server and the same worker pool. See benchmarks/README.md.

    python benchmarks/steps.py [--runs N] [--concurrency C] [--rounds R]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

APP_DB = "sj_bench_steps"
APP_BROKER = "redis://127.0.0.1:6379/15"
NOOP_BROKER = "redis://127.0.0.1:6379/12"
ADVANCE = "saleor_journeys.advance_runs"
STEPS_PER_RUN = 4  # after the "enter" step that enroll() writes itself
ACTIONS_PER_RUN = 2
SCORE_PER_RUN = 2

JOURNEY = {
    "name": "Bench steps",
    "trigger": {"type": "manual"},
    "start": "tag",
    "nodes": [
        {"id": "tag", "type": "update_contact", "add_tags": ["bench"], "score": 1, "next": "check"},
        {
            "id": "check",
            "type": "condition",
            "condition": {"tag": "bench"},
            "then": "bump",
            "else": "out",
        },
        {
            "id": "bump",
            "type": "update_contact",
            "set_properties": {"bench": True},
            "score": 1,
            "next": "out",
        },
        {"id": "out", "type": "exit"},
    ],
}


@dataclass
class Measure:
    items: int  # runs, or no-op tasks
    wall: float
    steps: int = 0
    messages: int = 0  # task messages published
    publish: float = 0.0  # seconds the benchmark spent publishing (baseline)
    worker_cpu: float = 0.0
    db_cpu: float = 0.0
    redis_cpu: float = 0.0
    client_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.items / self.wall

    @property
    def step_rate(self) -> float:
        return self.steps / self.wall

    def ms_per(self, seconds: float) -> float:
        return seconds / self.items * 1000


# --- setup ------------------------------------------------------------------------------------


def make_contacts(installation: Any, count: int, prefix: str) -> list[Any]:
    from saleor_journeys.contacts.models import Contact

    return Contact.objects.bulk_create(
        [
            Contact(installation=installation, email=f"{prefix}{i}@bench.example")
            for i in range(count)
        ],
        batch_size=2000,
    )


def make_journey(installation: Any) -> Any:
    from saleor_journeys.journeys import versions

    journey = versions.create(installation, JOURNEY, actor="bench")
    versions.publish(journey, actor="bench")
    journey.refresh_from_db()
    return journey


class Published:
    """Counts the task messages this process publishes (the app's publisher thread sends
    ``advance_runs`` with batches of run ids)."""

    def __init__(self) -> None:
        self.messages: list[int] = []
        self.first_at = 0.0
        self.lock = threading.Lock()

    def __call__(self, sender: Any = None, body: Any = None, **kwargs: Any) -> None:
        if sender != ADVANCE:
            return
        with self.lock:
            if not self.messages:
                self.first_at = time.perf_counter()
            self.messages.append(len(body[0][0]))

    def reset(self) -> None:
        with self.lock:
            self.messages, self.first_at = [], 0.0


# --- the two sides ----------------------------------------------------------------------------


class Cpu:
    """CPU seconds spent by a worker's process group, the app's PostgreSQL backends, Redis and
    this process between ``start()`` and ``stop()``."""

    def __init__(self, worker: harness.Proc, db: str | None, redis_pid: int) -> None:
        self.worker, self.db, self.redis_pid = worker, db, redis_pid

    def start(self) -> None:
        self.w0 = harness.group_cpu(self.worker.pgid)
        self.pg = harness.PostgresCpu()
        if self.db:
            self.pg.start(self.db)
        self.r0 = harness.pid_cpu(self.redis_pid)
        self.c0 = time.process_time()

    def stop(self, m: Measure) -> None:
        m.worker_cpu = harness.group_cpu(self.worker.pgid) - self.w0
        m.db_cpu = self.pg.stop() if self.db else 0.0
        m.redis_cpu = harness.pid_cpu(self.redis_pid) - self.r0
        m.client_cpu = time.process_time() - self.c0


def run_app(
    journey: Any,
    contacts: list[Any],
    name: str,
    worker: harness.Proc,
    cpu: Cpu | None,
    published: Published,
    timeout: float,
) -> Measure:
    """Enrol every contact in the journey in one transaction; time from its commit (which
    enqueues every run) until the last run is finished. Checks every run and step."""
    from django.db import transaction

    from saleor_journeys.core import clock
    from saleor_journeys.runtime import runs

    n = len(contacts)
    with harness.connect(APP_DB) as conn:
        # Statistics of the tables as they are now, as a database in service has them: without,
        # the first round plans its queries for the empty tables of a fresh database.
        conn.execute("VACUUM ANALYZE")
        score_before = score_sum(conn)
        published.reset()
        ids = []
        with transaction.atomic():
            for contact in contacts:
                run = runs.enroll(journey, contact, now=clock.now())
                if run is None:
                    raise AssertionError(f"{contact} was not enrolled")
                ids.append(run.pk)
            if cpu:
                cpu.start()
            began = time.perf_counter()
        # The commit is done and every run was handed to the publisher (on_commit).
        deadline = began + timeout
        while True:
            (done,) = conn.execute(
                "SELECT count(*) FROM saleor_journeys_run"
                " WHERE id = ANY(%s) AND status NOT IN ('active', 'waiting')",
                [ids],
            ).fetchone()  # type: ignore[misc]
            if done >= n:
                ended = time.perf_counter()
                break
            worker.check_alive()
            if time.perf_counter() > deadline:
                raise AssertionError(
                    f"{name}: {done}/{n} runs finished after {timeout}s; worker log:\n"
                    f"{worker.tail()}"
                )
            time.sleep(0.02)
        m = Measure(items=n, wall=ended - began, steps=n * STEPS_PER_RUN)
        if cpu:
            cpu.stop(m)
        check_runs(conn, name, ids, score_before)
        m.messages = len(published.messages)
        if sum(published.messages) != n:
            raise AssertionError(f"{name}: {sum(published.messages)} run ids published, not {n}")
    return m


def score_sum(conn: Any) -> float:
    sql = "SELECT coalesce(sum(score), 0) FROM saleor_journeys_contact"
    (total,) = conn.execute(sql).fetchone()
    return float(total)


def check_runs(conn: Any, name: str, ids: list[int], score_before: float) -> None:
    """Every run finished exactly once: done, each step number once (0..4), each action once,
    each contact's card changed once per update_contact."""
    n = len(ids)
    row = conn.execute(
        """
        SELECT count(*),
               count(*) FILTER (WHERE status = 'done' AND steps = %s AND finished_at IS NOT NULL)
        FROM saleor_journeys_run WHERE id = ANY(%s)
        """,
        [STEPS_PER_RUN, ids],
    ).fetchone()
    if row != (n, n):
        raise AssertionError(f"{name}: runs (all, done in 4 steps) = {row}, not {n}")
    row = conn.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE steps = %s AND distinct_numbers = steps
                                              AND low = 0 AND high = %s)
        FROM (
            SELECT count(*) AS steps, count(DISTINCT number) AS distinct_numbers,
                   min(number) AS low, max(number) AS high
            FROM saleor_journeys_runstep WHERE run_id = ANY(%s) GROUP BY run_id
        ) per_run
        """,
        [STEPS_PER_RUN + 1, STEPS_PER_RUN, ids],
    ).fetchone()
    if row != (n, n):
        raise AssertionError(f"{name}: runs with steps 0..4 exactly once: {row}, not {n}")
    row = conn.execute(
        "SELECT count(*), count(DISTINCT (run_id, node)) FROM saleor_journeys_runaction"
        " WHERE run_id = ANY(%s)",
        [ids],
    ).fetchone()
    if row != (n * ACTIONS_PER_RUN, n * ACTIONS_PER_RUN):
        raise AssertionError(f"{name}: actions (all, distinct) = {row}, not {2 * n}")
    # The score decays continuously: the first point has lost a few billionths by the time the
    # second is added. Each run adds its points once if the sum is right to the hundredth.
    gained = round(score_sum(conn) - score_before, 2)
    if gained != n * SCORE_PER_RUN:
        raise AssertionError(f"{name}: contacts gained {gained} points, not {2 * n}")


def run_noop(n: int, start: int, worker: harness.Proc, cpu: Cpu | None, timeout: float) -> Measure:
    """Publish n no-op tasks; time from the first publish until none is queued or unacked
    (``acks_late``: a message is acknowledged after its task ran)."""
    from noop_celery import app, noop

    queue = app.conf.task_default_queue
    client = redis.Redis.from_url(NOOP_BROKER)
    received_before = worker.text().count("Task bench.noop[")
    if cpu:
        cpu.start()
    began = time.perf_counter()
    for i in range(start, start + n):
        noop.delay(i)
    published = time.perf_counter()
    deadline = began + timeout
    while True:
        pipe = client.pipeline(transaction=False)
        pipe.llen(queue)
        pipe.hlen("unacked")
        queued, unacked = pipe.execute()
        if queued == 0 and unacked == 0:
            ended = time.perf_counter()
            break
        worker.check_alive()
        if time.perf_counter() > deadline:
            raise AssertionError(f"no-op: {queued} queued, {unacked} unacked after {timeout}s")
        time.sleep(0.02)
    m = Measure(items=n, wall=ended - began, messages=n, publish=published - began)
    if cpu:
        cpu.stop(m)
    # Every task was received exactly once by the worker (its INFO line per received task).
    time.sleep(0.2)
    received = worker.text().count("Task bench.noop[") - received_before
    if received != n:
        raise AssertionError(f"no-op: the worker logged {received} received tasks, not {n}")
    return m


# --- report -----------------------------------------------------------------------------------


def report_app(label: str, m: Measure, concurrency: int) -> None:
    print(
        f"  {label:12} {m.items} runs, {m.steps} steps in {m.wall:.2f}s = "
        f"{m.step_rate:,.0f} steps/s, {m.rate:,.0f} runs/s  ({m.messages} task messages; "
        f"per run {m.wall * concurrency / m.items * 1000:.2f} ms of a worker process; "
        f"CPU ms/run: worker {m.ms_per(m.worker_cpu):.2f}, postgres {m.ms_per(m.db_cpu):.2f},"
        f" redis {m.ms_per(m.redis_cpu):.2f}, publisher {m.ms_per(m.client_cpu):.2f})"
    )


def report_noop(label: str, m: Measure, concurrency: int) -> None:
    print(
        f"  {label:12} {m.items} tasks in {m.wall:.2f}s = {m.rate:,.0f} tasks/s  "
        f"(published in {m.publish:.2f}s; per task {m.wall * concurrency / m.items * 1000:.2f}"
        f" ms of a worker process; CPU ms/task: worker {m.ms_per(m.worker_cpu):.2f}, "
        f"redis {m.ms_per(m.redis_cpu):.2f}, publisher {m.ms_per(m.client_cpu):.2f})"
    )


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--runs", "-n", type=int, default=2000, help="runs (and no-op tasks)")
    parser.add_argument("--concurrency", "-c", type=int, default=2, help="worker processes")
    parser.add_argument("--rounds", "-r", type=int, default=3, help="rounds per side, alternated")
    parser.add_argument("--warmup", type=int, default=100, help="uncounted runs / tasks per side")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed per round")
    parser.add_argument("--keep-logs", action="store_true", help="keep the workers' logs")
    args = parser.parse_args()
    harness.exit_on_sigterm()
    n, rounds, conc = args.runs, args.rounds, args.concurrency

    workdir = Path(tempfile.mkdtemp(prefix="sj-bench-steps-"))
    env = harness.app_env(APP_DB, APP_BROKER, workdir / "data")
    noop_env = {k: v for k, v in env.items() if k not in ("CELERY_BROKER_URL", "DATABASE_URL")}
    noop_env.update(
        BENCH_BROKER_URL=NOOP_BROKER,
        PYTHONPATH=os.pathsep.join(filter(None, [str(harness.HERE), env.get("PYTHONPATH")])),
    )
    brokers = [redis.Redis.from_url(APP_BROKER), redis.Redis.from_url(NOOP_BROKER)]
    procs: list[harness.Proc] = []
    try:
        t0 = time.perf_counter()
        for broker in brokers:
            broker.flushdb()
        harness.recreate_database(APP_DB)
        harness.migrate(env)
        harness.setup_django(env)
        from celery import signals

        from saleor_journeys.saleor.models import Installation

        published = Published()
        signals.before_task_publish.connect(published, weak=False)
        installation = Installation.objects.create(
            saleor_api_url=harness.API_URL, saleor_domain="saleor.bench", is_active=True
        )
        # Fresh contacts for each round, so that every round starts from the same cards (the
        # first tag a card gets is also a tag_added event; a second one is not).
        warm_contacts = make_contacts(installation, args.warmup, "warm")
        contacts = [make_contacts(installation, n, f"r{r}-") for r in range(rounds)]

        # What `saleor-journeys worker` passes to Celery; the same for the no-op worker.
        worker_options = ["--loglevel=INFO", f"--concurrency={conc}"]
        app = harness.Proc(
            "app worker",
            [harness.CLI, "worker", *worker_options],
            env,
            workdir / "app-worker.log",
        )
        procs.append(app)
        base = harness.Proc(
            "no-op worker",
            [sys.executable, "-m", "celery", "-A", "noop_celery", "worker", *worker_options],
            noop_env,
            workdir / "noop-worker.log",
            cwd=harness.HERE,
        )
        procs.append(base)
        for proc in procs:
            proc.wait_for_log(" ready.")
        redis_pid = int(brokers[0].info("server")["process_id"])
        cpus = {"app": Cpu(app, APP_DB, redis_pid), "no-op": Cpu(base, None, redis_pid)}

        # Warm-up (not counted): every pool process has imported, connected, parsed.
        journey = make_journey(installation)
        run_app(journey, warm_contacts, "warm-up", app, None, published, args.timeout)
        run_noop(args.warmup, 0, base, None, args.timeout)
        print(
            f"setup {time.perf_counter() - t0:.1f}s: {n} new contacts per round; journey "
            f"update_contact -> condition -> update_contact -> exit ({STEPS_PER_RUN} steps per run "
            "after enter); "
            f"prefork workers, concurrency {conc} each, Redis broker; {rounds} rounds, "
            f"warm-up {args.warmup}; {harness.machine()}"
        )

        results: dict[str, list[Measure]] = {"app": [], "no-op": []}
        for r in range(rounds):
            order = ("no-op", "app") if r % 2 == 0 else ("app", "no-op")
            for side in order:
                if side == "app":
                    m = run_app(
                        journey,
                        contacts[r],
                        f"round {r + 1}",
                        app,
                        cpus["app"],
                        published,
                        args.timeout,
                    )
                    report_app(f"app #{r + 1}", m, conc)
                else:
                    m = run_noop(n, args.warmup + r * n, base, cpus["no-op"], args.timeout)
                    report_noop(f"no-op #{r + 1}", m, conc)
                results[side].append(m)

        steps = statistics.median(m.step_rate for m in results["app"])
        runs_s = statistics.median(m.rate for m in results["app"])
        tasks = statistics.median(m.rate for m in results["no-op"])
        per_run = statistics.median(m.wall / m.items for m in results["app"]) * 1000
        per_task = statistics.median(m.wall / m.items for m in results["no-op"]) * 1000
        messages = statistics.median(m.messages for m in results["app"])
        print(
            f"app: {steps:,.0f} steps/s  no-op: {tasks:,.0f} tasks/s  "
            f"ratio (steps/s / tasks/s): {steps / tasks:.2f}  (medians of {rounds}; "
            f"N={n}, C={conc})"
        )
        print(
            f"app: {runs_s:,.0f} runs/s ({per_run:.2f} ms wall per run, {STEPS_PER_RUN} steps "
            f"each, ~{messages:.0f} task messages of up to 100 runs)  no-op: {tasks:,.0f} tasks/s "
            f"({per_task:.2f} ms per task)  ratio (runs/s / tasks/s): {runs_s / tasks:.2f}"
        )
        cpu_run = statistics.median(
            (m.worker_cpu + m.db_cpu + m.redis_cpu) / m.items * 1000 for m in results["app"]
        )
        cpu_task = statistics.median(
            (m.worker_cpu + m.redis_cpu) / m.items * 1000 for m in results["no-op"]
        )
        print(
            f"CPU (worker + postgres + redis): {cpu_run:.2f} ms per run = "
            f"{cpu_run / STEPS_PER_RUN:.2f} ms per step; {cpu_task:.2f} ms per no-op task"
        )
        print("every run finished once: status done, steps 0..4 once each, 2 actions, +2 score")
        print(f"after: {harness.machine()}")
    finally:
        harness.stop_all(procs)
        harness.close_django()
        harness.drop_databases(APP_DB)
        harness.clean_up(brokers, workdir, keep_logs=args.keep_logs)


if __name__ == "__main__":
    main()

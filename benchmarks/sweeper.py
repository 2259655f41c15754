"""Sweeper lateness: how late the app steps runs that all become due at the same moment T.

N runs (default 100,000) wait at a ``wait`` node whose next node is an ``exit``, all with
``wake_at = timer_at = T``; nothing but the sweeper can wake them (no timed tasks). Three sides
on three identical copies of the database:

* **beat** (production): ``saleor-journeys beat`` sends ``sweep_runs`` every
  ``RUN_SWEEP_INTERVAL`` seconds and ``saleor-journeys worker`` processes run it;
* **pool**: the same ``runs.sweep()`` called back to back in as many processes as the worker
  pool has, i.e. the sweeping code without the beat's interval;
* **baseline**: as many processes claiming the due rows with ``SELECT … FOR UPDATE SKIP
  LOCKED`` in batches of the same size and marking them done with one ``UPDATE``.

A run's lateness is the time of its first step after T (``RunStep.at``; for the baseline the
``clock_timestamp()`` of its UPDATE) minus T. See benchmarks/README.md.

    python benchmarks/sweeper.py [--runs N] [--concurrency C] [--sides beat,pool,baseline]
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

APP_DB = "sj_bench_sweeper"
COPIES = {"beat": APP_DB, "pool": "sj_bench_sweeper_pool", "baseline": "sj_bench_sweeper_base"}
BROKER_URL = "redis://127.0.0.1:6379/11"
WORKERS = str(harness.HERE / "sweeper_workers.py")
RUN_TABLE = "saleor_journeys_run"
STEP_TABLE = "saleor_journeys_runstep"
# Steps 0 (enter) and 1 (wait) are in the log already; the wake-up writes 2 (the wait ends)
# and 3 (exit).
FIRST_NEW_STEP = 2
STEPS_WHEN_DONE = 4

JOURNEY = {
    "name": "Bench sweeper",
    "trigger": {"type": "manual"},
    "start": "wait",
    "nodes": [
        {"id": "wait", "type": "wait", "duration": "1d", "next": "out"},
        {"id": "out", "type": "exit"},
    ],
}


@dataclass
class Outcome:
    side: str
    n: int
    lateness: list[float] = field(default_factory=list)  # seconds, sorted, of stepped runs
    stopped_after: float = 0.0  # seconds after T when the side was stopped
    complete: bool = True

    def pct(self, p: float) -> str:
        """The p-th percentile over all N runs; runs not stepped count as later than any."""
        rank = max(1, int(p * self.n + 0.5))
        if rank > len(self.lateness):
            return f"> {self.stopped_after:.0f}s"
        return f"{self.lateness[rank - 1]:.2f}s"

    def value(self, p: float) -> float | None:
        rank = max(1, int(p * self.n + 0.5))
        return self.lateness[rank - 1] if rank <= len(self.lateness) else None

    def projected(self, p: float) -> float:
        """The p-th percentile if the side went on at its rate (linear: it steps runs at a
        steady rate from its first one on)."""
        return self.lateness[0] + (p * self.n - 1) / self.rate

    def estimate(self, p: float) -> tuple[float, bool]:
        """The p-th percentile, measured (True) or else projected (False)."""
        value = self.value(p)
        return (value, True) if value is not None else (self.projected(p), False)

    @property
    def rate(self) -> float:
        """Runs stepped per second: from the first to the last one, or, for a side stopped at
        its deadline, from the first one to the stop (a beat's sweeps come in bursts)."""
        if len(self.lateness) < 2:
            return float("nan")
        first, last = self.lateness[0], self.lateness[-1]
        if self.complete:
            return (len(self.lateness) - 1) / (last - first) if last > first else float("nan")
        return len(self.lateness) / (max(last, self.stopped_after) - first)


# --- setup ------------------------------------------------------------------------------------


def populate(n: int) -> None:
    """N contacts, each with a run waiting at ``wait`` and its steps 0 and 1 in the log."""
    from saleor_journeys.contacts.models import Contact
    from saleor_journeys.journeys import versions
    from saleor_journeys.journeys.models import Run, RunStatus, RunStep
    from saleor_journeys.saleor.models import Installation

    installation = Installation.objects.create(
        saleor_api_url=harness.API_URL, saleor_domain="saleor.bench", is_active=True
    )
    journey = versions.create(installation, JOURNEY, actor="bench")
    version = versions.publish(journey, actor="bench")
    entered = datetime.now(UTC) - timedelta(days=1)
    placeholder = entered + timedelta(days=30)  # armed later: wake_at = timer_at = T
    chunk = 10_000
    for start in range(0, n, chunk):
        count = min(chunk, n - start)
        contacts = Contact.objects.bulk_create(
            [
                Contact(installation=installation, email=f"c{i}@bench.example")
                for i in range(start, start + count)
            ]
        )
        runs = Run.objects.bulk_create(
            [
                Run(
                    installation=installation,
                    journey=journey,
                    version=version,
                    contact=contact,
                    status=RunStatus.WAITING,
                    node="wait",
                    steps=1,
                    timer_at=placeholder,
                    wake_at=placeholder,
                    entered_at=entered,
                    seed=hashlib.sha256(str(contact.pk).encode()).hexdigest()[:32],
                )
                for contact in contacts
            ]
        )
        RunStep.objects.bulk_create(
            [
                RunStep(run=run, number=number, node="wait", outcome=outcome, at=entered)
                for run in runs
                for number, outcome in ((0, "enter"), (1, "wait"))
            ]
        )


def vacuum(db: str) -> None:
    with harness.connect(db) as conn:
        conn.execute(f"VACUUM ANALYZE {RUN_TABLE}")
        conn.execute(f"VACUUM ANALYZE {STEP_TABLE}")
        conn.execute("VACUUM ANALYZE saleor_journeys_contact")


def clone(source: str, target: str) -> None:
    """``target`` as a copy of ``source`` (an autovacuum may hold it a moment: retry)."""
    for attempt in range(20):
        try:
            harness.recreate_database(target, template=source)
            return
        except psycopg.errors.ObjectInUse:
            if attempt == 19:
                raise
            time.sleep(0.5)


def arm(db: str, at: datetime) -> None:
    """Every run due at ``at``, then the table vacuumed, the same for every copy."""
    with harness.connect(db) as conn:
        conn.execute(f"UPDATE {RUN_TABLE} SET wake_at = %s, timer_at = %s", [at, at])
        conn.execute(f"VACUUM ANALYZE {RUN_TABLE}")
    if datetime.now(UTC) >= at:
        raise RuntimeError("arming took longer than --lead: T passed before it was set")


# --- watching a side --------------------------------------------------------------------------


def live_runs(db: str) -> int:
    with harness.connect(db) as conn:
        (count,) = conn.execute(
            f"SELECT count(*) FROM {RUN_TABLE} WHERE status IN ('active', 'waiting')"
        ).fetchone()  # type: ignore[misc]
    return int(count)


def watch(
    side: str, db: str, at: datetime, procs: list[harness.Proc], deadline: float, exit_ok: bool
) -> float:
    """Wait until no run of ``db`` is live, or ``deadline`` seconds after T. Returns the seconds
    after T at which it stopped waiting. ``exit_ok``: the processes end by themselves."""
    last_report = 0.0
    while True:
        time.sleep(1.0)
        elapsed = (datetime.now(UTC) - at).total_seconds()
        left = live_runs(db)
        if left == 0:
            return elapsed
        for proc in procs:
            if not exit_ok or proc.proc.poll() not in (None, 0):
                proc.check_alive()
        if exit_ok and all(proc.proc.poll() == 0 for proc in procs):
            left = live_runs(db)  # they may have finished since the count above
            if left == 0:
                return elapsed
            raise AssertionError(f"{side}: the processes ended with {left} runs still live")
        if elapsed - last_report >= 30:
            print(f"    {side}: T+{elapsed:.0f}s, {left:,} runs not stepped yet", flush=True)
            last_report = elapsed
        if elapsed >= deadline:
            return elapsed


def app_lateness(db: str, at: datetime) -> list[float]:
    with harness.connect(db) as conn:
        rows = conn.execute(
            f"SELECT extract(epoch FROM at - %s) FROM {STEP_TABLE} WHERE number = %s",
            [at, FIRST_NEW_STEP],
        ).fetchall()
    return sorted(float(r[0]) for r in rows)


def baseline_lateness(db: str, at: datetime) -> list[float]:
    with harness.connect(db) as conn:
        rows = conn.execute(
            f"SELECT extract(epoch FROM finished_at - %s) FROM {RUN_TABLE}"
            " WHERE finished_at IS NOT NULL",
            [at],
        ).fetchall()
    return sorted(float(r[0]) for r in rows)


def check_app(side: str, db: str, n: int) -> int:
    """Each run stepped at most once and completely: done with steps 0..3 once each and one
    exit, or still waiting with steps 0..1 untouched. Returns the runs done."""
    with harness.connect(db) as conn:
        done, waiting, total = conn.execute(
            f"""
            SELECT
              count(*) FILTER (WHERE r.status = 'done' AND r.steps = %(last)s
                               AND r.finished_at IS NOT NULL AND r.wake_at IS NULL
                               AND s.rows = %(all)s AND s.numbers = %(all)s
                               AND s.high = %(last)s AND s.exits = 1),
              count(*) FILTER (WHERE r.status = 'waiting' AND r.steps = 1
                               AND s.rows = 2 AND s.numbers = 2 AND s.high = 1 AND s.exits = 0),
              count(*)
            FROM {RUN_TABLE} r JOIN (
                SELECT run_id, count(*) AS rows, count(DISTINCT number) AS numbers,
                       max(number) AS high, count(*) FILTER (WHERE outcome = 'exit') AS exits
                FROM {STEP_TABLE} GROUP BY run_id
            ) s ON s.run_id = r.id
            """,
            {"last": STEPS_WHEN_DONE - 1, "all": STEPS_WHEN_DONE},
        ).fetchone()  # type: ignore[misc]
    if total != n or done + waiting != n:
        raise AssertionError(
            f"{side}: of {n} runs ({total} with a log) {done} are done exactly once and "
            f"{waiting} untouched; the other {n - done - waiting} are neither"
        )
    return int(done)


def check_baseline(db: str, n: int) -> None:
    with harness.connect(db) as conn:
        done, total = conn.execute(
            f"SELECT count(*) FILTER (WHERE status = 'done' AND steps = 2), count(*)"
            f" FROM {RUN_TABLE}"
        ).fetchone()  # type: ignore[misc]
    if (done, total) != (n, n):
        raise AssertionError(f"baseline: {done} of {total} rows claimed exactly once, not {n}")


# --- the sides --------------------------------------------------------------------------------


def run_baseline(env: dict[str, str], n: int, conc: int, batch: int, lead: float, work: Path):
    db = COPIES["baseline"]
    at = datetime.now(UTC) + timedelta(seconds=lead)
    claim_options = [f"--batch={batch}", f"--at={at.timestamp()}"]
    procs = [
        harness.Proc(
            f"claim {i}",
            [sys.executable, WORKERS, "claim", f"--db={harness.PG}/{db}", *claim_options],
            env,
            work / f"claim-{i}.log",
        )
        for i in range(conc)
    ]
    try:
        arm(db, at)
        for proc in procs:
            proc.proc.wait(timeout=600)
            if proc.proc.returncode != 0:
                raise RuntimeError(f"{proc.name} failed:\n{proc.tail()}")
    finally:
        harness.stop_all(procs)
    check_baseline(db, n)
    return Outcome("baseline", n, baseline_lateness(db, at))


def run_pool(env: dict[str, str], n: int, conc: int, lead: float, deadline: float, work: Path):
    db = COPIES["pool"]
    at = datetime.now(UTC) + timedelta(seconds=lead)
    pool_env = {**env, "DATABASE_URL": f"{harness.PG}/{db}"}
    procs = [
        harness.Proc(
            f"sweep {i}",
            [sys.executable, WORKERS, "sweep", f"--at={at.timestamp()}"],
            pool_env,
            work / f"sweep-{i}.log",
        )
        for i in range(conc)
    ]
    try:
        arm(db, at)
        stopped = watch("pool", db, at, procs, deadline, exit_ok=True)
    finally:
        harness.stop_all(procs)
    return finish("pool", db, n, at, stopped)


def run_beat(env: dict[str, str], n: int, conc: int, lead: float, deadline: float, work: Path):
    db = COPIES["beat"]
    worker = harness.Proc(
        "worker",
        [harness.CLI, "worker", f"--concurrency={conc}", "--loglevel=INFO"],
        env,
        work / "worker.log",
    )
    procs = [worker]
    try:
        worker.wait_for_log(" ready.")
        beat = harness.Proc(
            "beat", [harness.CLI, "beat", "--loglevel=INFO"], env, work / "beat.log"
        )
        procs.append(beat)
        beat.wait_for_log("beat: Starting")
        at = datetime.now(UTC) + timedelta(seconds=lead)
        arm(db, at)
        stopped = watch("beat", db, at, procs, deadline, exit_ok=False)
    finally:
        harness.stop_all(procs)
    outcome = finish("beat", db, n, at, stopped)
    sweeps = worker.text().count("Task saleor_journeys.sweep_runs[")
    print(f"    beat: the worker received {sweeps} sweep_runs tasks")
    return outcome


def finish(side: str, db: str, n: int, at: datetime, stopped: float) -> Outcome:
    done = check_app(side, db, n)
    outcome = Outcome(side, n, app_lateness(db, at), stopped_after=stopped, complete=done == n)
    if len(outcome.lateness) != done:
        raise AssertionError(f"{side}: {done} runs done but {len(outcome.lateness)} wake-ups")
    return outcome


# --- report -----------------------------------------------------------------------------------


def report(o: Outcome, label: str) -> None:
    stepped = len(o.lateness)
    if o.complete:
        total = f"all {o.n:,} stepped by T+{o.lateness[-1]:.1f}s"
    else:
        total = f"{stepped:,} of {o.n:,} stepped when stopped at T+{o.stopped_after:.0f}s"
    first = f"{o.lateness[0]:.2f}s" if o.lateness else "-"
    print(
        f"  {o.side:8} {label}\n"
        f"           lateness p50 {o.pct(0.5)}  p90 {o.pct(0.9)}  p99 {o.pct(0.99)}  "
        f"max {o.pct(1.0)}  (first {first}); {total}; {o.rate:,.0f} runs/s"
    )
    if not o.complete and stepped >= 2:
        print(
            f"           projected at {o.rate:,.0f} runs/s: p50 ~{o.projected(0.5):,.0f}s  "
            f"p90 ~{o.projected(0.9):,.0f}s  p99 ~{o.projected(0.99):,.0f}s  "
            f"all ~{o.projected(1.0):,.0f}s after T"
        )


def show(o: Outcome, p: float) -> str:
    """A percentile as measured, else as projected (marked ~)."""
    if len(o.lateness) < 2 and o.value(p) is None:
        return o.pct(p)
    value, measured = o.estimate(p)
    return f"{value:.2f}s" if measured else f"~{value:,.0f}s"


def ratio(app: Outcome, base: Outcome, p: float) -> str:
    b = base.value(p)
    if b is None or b <= 0 or (len(app.lateness) < 2 and app.value(p) is None):
        return "n/a"
    a, measured = app.estimate(p)
    return f"{a / b:,.1f}" if measured else f"~{a / b:,.0f}"


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--runs", "-n", type=int, default=100_000, help="runs due at T")
    parser.add_argument(
        "--concurrency", "-c", type=int, default=2, help="worker / sweeping / claiming processes"
    )
    parser.add_argument(
        "--sides",
        default="baseline,pool,beat",
        help="which sides to run, in this order (baseline, pool, beat)",
    )
    parser.add_argument(
        "--batch", type=int, default=0, help="baseline rows per claim (0: the app's sweep limit)"
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=300,
        help="seconds after T at which the pool side is stopped if runs are left",
    )
    parser.add_argument(
        "--beat-deadline",
        type=float,
        default=150,
        help="the same for the beat side (its rate is its sweep limit / beat interval)",
    )
    parser.add_argument("--lead", type=float, default=8, help="seconds from arming to T")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    args = parser.parse_args()
    harness.exit_on_sigterm()
    sides = [s.strip() for s in args.sides.split(",") if s.strip()]
    unknown = set(sides) - set(COPIES)
    if unknown or not sides:
        parser.error(f"unknown sides {unknown}; choose from {', '.join(COPIES)}")
    n, conc = args.runs, args.concurrency

    work = Path(tempfile.mkdtemp(prefix="sj-bench-sweeper-"))
    env = harness.app_env(APP_DB, BROKER_URL, work / "data")
    broker = redis.Redis.from_url(BROKER_URL)
    dbs = sorted({APP_DB, *(COPIES[s] for s in sides)})
    outcomes: dict[str, Outcome] = {}
    try:
        t0 = time.perf_counter()
        broker.flushdb()
        harness.recreate_database(APP_DB)
        harness.migrate(env)
        harness.setup_django(env)
        from saleor_journeys import conf
        from saleor_journeys.runtime import runs

        limit = inspect.signature(runs.sweep).parameters["limit"].default
        interval = float(conf.get("RUN_SWEEP_INTERVAL"))
        batch = args.batch or int(limit)
        populate(n)
        harness.close_django()
        vacuum(APP_DB)
        for side in sides:
            if COPIES[side] != APP_DB:
                clone(APP_DB, COPIES[side])
        print(
            f"setup {time.perf_counter() - t0:.0f}s: {n:,} contacts and runs waiting at "
            f"wait(1d) -> exit, copied to {len(dbs)} databases; {conc} processes per side; "
            f"the app's sweep: {limit} runs per sweep_runs, beat every {interval:g}s; "
            f"{harness.machine()}",
            flush=True,
        )

        for side in sides:
            print(f"  {side}: running…", flush=True)
            if side == "baseline":
                outcomes[side] = run_baseline(env, n, conc, batch, args.lead, work)
                label = (
                    f"(SELECT … FOR UPDATE SKIP LOCKED LIMIT {batch} + UPDATE, {conc} processes)"
                )
            elif side == "pool":
                outcomes[side] = run_pool(env, n, conc, args.lead, args.deadline, work)
                label = f"(runs.sweep() back to back in {conc} processes)"
            else:
                outcomes[side] = run_beat(env, n, conc, args.lead, args.beat_deadline, work)
                label = (
                    f"(saleor-journeys beat: sweep_runs every {interval:g}s; "
                    f"saleor-journeys worker --concurrency={conc})"
                )
            report(outcomes[side], label)

        print(f"summary (N={n:,}, {conc} processes per side, batch {batch}):")
        for side in sides:
            o = outcomes[side]
            print(
                f"  {side:8} p50 {show(o, 0.5):>9}  p90 {show(o, 0.9):>9}  "
                f"p99 {show(o, 0.99):>9}  max {show(o, 1.0):>9}"
            )
        if "baseline" in outcomes:
            base = outcomes["baseline"]
            for side in ("pool", "beat"):
                if side in outcomes:
                    o = outcomes[side]
                    print(
                        f"  lateness ratio {side}/baseline: p50 {ratio(o, base, 0.5)}  "
                        f"p99 {ratio(o, base, 0.99)}  (higher is later)"
                    )
        if any(not o.complete for o in outcomes.values()):
            print("  (~: projected from the side's rate when it was stopped at its deadline)")
        print(
            "every run stepped at most once: done runs have steps 0..3 once each and one exit; "
            "the others are untouched"
        )
        print(f"after: {harness.machine()}")
    finally:
        harness.close_django()
        harness.drop_databases(*dbs)
        harness.clean_up([broker], work, keep_logs=args.keep_logs)


if __name__ == "__main__":
    main()

"""What the runtime benchmarks (``steps.py``, ``sweeper.py``) share: their own databases, the
app's environment, Django in this process, and subprocesses that are always stopped.

Nothing here measures anything; see benchmarks/README.md.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest  # the helpers of the first benchmark: CLI, PG, CPU accounting

HERE = ingest.HERE
REPO = ingest.REPO
CLI = ingest.CLI
PG = ingest.PG
API_URL = "http://saleor.bench/graphql/"


# --- databases --------------------------------------------------------------------------------


def recreate_database(name: str, template: str | None = None) -> None:
    """A fresh database ``name`` (``sj_bench_…`` only), empty or a copy of ``template``."""
    assert name.startswith("sj_bench"), f"{name}: benchmarks only touch sj_bench* databases"
    statements = [f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"]
    if template:
        statements.append(f"CREATE DATABASE {name} TEMPLATE {template}")
    else:
        statements.append(f"CREATE DATABASE {name}")
    ingest.admin_sql(*statements)


def drop_databases(*names: str) -> None:
    for name in names:
        assert name.startswith("sj_bench"), name
        try:
            ingest.admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except psycopg.Error as exc:
            print(f"could not drop {name}: {exc}", file=sys.stderr)


def connect(db: str) -> psycopg.Connection:
    """A connection of the benchmark's own (autocommit), beside the app's."""
    return psycopg.connect(f"{PG}/{db}", autocommit=True)


# --- the app ----------------------------------------------------------------------------------


def app_env(db: str, broker_url: str, data_dir: Path) -> dict[str, str]:
    """The environment of the bundled project in production mode, as ``ingest.py`` runs it."""
    (data_dir / "static").mkdir(parents=True, exist_ok=True)
    env = ingest.app_env(str(data_dir))
    env.update(DATABASE_URL=f"{PG}/{db}", CELERY_BROKER_URL=broker_url)
    return env


def migrate(env: dict[str, str]) -> None:
    subprocess.run([CLI, "migrate", "--no-input", "-v", "0"], env=env, check=True)


def setup_django(env: dict[str, str]) -> None:
    """The app's settings and Celery app in this process (tasks published here go to the
    broker of ``env``)."""
    os.environ.update(env)
    import django

    django.setup()
    import saleor_journeys.project.celery  # noqa: F401  (binds the shared tasks to this app)


def close_django() -> None:
    """Close this process's database connections, if Django was set up at all."""
    from django.conf import settings

    if settings.configured:
        from django.db import connections

        connections.close_all()


def switch_database(db: str) -> None:
    """Point this process's ORM at another ``sj_bench*`` database of the same schema."""
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = db


# --- processes --------------------------------------------------------------------------------


class Proc:
    """A subprocess in a session (process group) of its own, logging to a file; ``stop()`` ends
    the whole group, children included (a prefork worker's pool, a beat)."""

    def __init__(
        self, name: str, argv: Sequence[str], env: dict[str, str], log: Path, cwd: Path = REPO
    ) -> None:
        self.name, self.log_path = name, log
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            list(argv),
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=str(cwd),
            start_new_session=True,
        )

    @property
    def pgid(self) -> int:
        return self.proc.pid

    def text(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")

    def wait_for_log(self, needle: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            self.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: no {needle!r} in {timeout}s:\n{self.tail()}")
            time.sleep(0.1)

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM to the group (Celery's warm shutdown), then SIGKILL to what is left."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError):  # children that outlived their parent
            os.killpg(self.pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.log.close()


def exit_on_sigterm() -> None:
    """A SIGTERM ends the benchmark through its ``finally`` blocks (processes stopped, databases
    dropped), as Ctrl-C does."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def stop_all(procs: Sequence[Proc]) -> None:
    for proc in procs:
        try:
            proc.stop()
        except Exception as exc:  # keep stopping the others
            print(f"could not stop {proc.name}: {exc}", file=sys.stderr)


# --- figures ----------------------------------------------------------------------------------


def machine() -> str:
    """Cores and load, printed with the figures: the load tells whether they can be trusted."""
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.2f} (1 min) {five:.2f} (5 min)"


def group_cpu(pgid: int) -> float:
    return ingest.group_cpu(pgid)


class PostgresCpu:
    """CPU seconds PostgreSQL spends for one database between ``start()`` and ``stop()``: its
    live backends, plus those that exited meanwhile (a Celery worker with Django closes its
    connection after every task), which the postmaster accounts as its children's time once it
    has reaped them. The latter counts backends of any database: keep the machine quiet."""

    def start(self, db: str) -> None:
        self.db = db
        self.before = ingest.backends_cpu(db)
        self.postmaster = postmaster_pid(db)
        self.children = children_cpu(self.postmaster)

    def stop(self) -> float:
        after = ingest.backends_cpu(self.db)
        live = sum(v - self.before.get(pid, 0.0) for pid, v in after.items())
        # An exited backend's whole life is in the children's time; its part before start()
        # was measured already.
        gone = sum(v for pid, v in self.before.items() if pid not in after)
        return live + children_cpu(self.postmaster) - self.children - gone


def postmaster_pid(db: str) -> int:
    with psycopg.connect(f"{PG}/{db}") as conn:
        (pid,) = conn.execute("SELECT pg_backend_pid()").fetchone()  # type: ignore[misc]
    fields = ingest._stat(str(pid))
    assert fields, "cannot read the PostgreSQL backend's /proc entry"
    return int(fields[1])


def children_cpu(pid: int) -> float:
    """CPU seconds of the reaped children of ``pid`` (cutime + cstime)."""
    fields = ingest._stat(str(pid))
    return (int(fields[13]) + int(fields[14])) / ingest.TICK if fields else 0.0


def pid_cpu(pid: int | str) -> float:
    return ingest.pid_cpu(pid)


def clean_up(brokers: Sequence[redis.Redis], workdir: Path, *, keep_logs: bool) -> None:
    """After a run, whatever happened: empty its Redis databases, keep or remove its logs."""
    for broker in brokers:
        try:
            broker.flushdb()
        except redis.RedisError as exc:
            print(f"could not flush Redis: {exc}", file=sys.stderr)
    if keep_logs:
        print(f"logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)

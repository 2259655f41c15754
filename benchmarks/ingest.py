"""Webhook ingest throughput: the app's webhook endpoint against a bare Django baseline.

Both are served by gunicorn (gthread, same workers and threads) on the same PostgreSQL server and
driven by the same keep-alive load client with signed ``checkout_updated`` deliveries, each body
distinct so that every one is a durable write. See benchmarks/README.md.

    python benchmarks/ingest.py [--requests N] [--concurrency C] [--workers W] [--threads T]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import psycopg
import redis
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FIXTURE = REPO / "tests" / "fixtures" / "saleor" / "checkout_updated.json"
# The console script of the interpreter running this (the venv's), else the one on PATH.
CLI = str(Path(sys.executable).with_name("saleor-journeys"))
if not Path(CLI).exists():
    CLI = shutil.which("saleor-journeys") or "saleor-journeys"

PG = "postgresql://postgres@127.0.0.1:5432"
APP_DB = "sj_bench"
BASELINE_DB = "sj_bench_baseline"
BROKER_URL = "redis://127.0.0.1:6379/14"
API_URL = "http://saleor.bench/graphql/"
EVENT = "checkout_updated"
PATH = "/api/webhooks/checkout"
APP_TABLE = "saleor_journeys_webhookdelivery"

TABLE_DDL = """
CREATE TABLE ingest (
    id bigserial PRIMARY KEY,
    event_type varchar(64) NOT NULL,
    body text NOT NULL,
    received_at timestamptz NOT NULL
)
"""


# --- setup ------------------------------------------------------------------------------------


def admin_sql(*statements: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def create_databases() -> None:
    for name in (APP_DB, BASELINE_DB):
        admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")
    with psycopg.connect(f"{PG}/{BASELINE_DB}", autocommit=True) as conn:
        conn.execute(TABLE_DDL)


def drop_databases() -> None:
    for name in (APP_DB, BASELINE_DB):
        try:
            admin_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except psycopg.Error as exc:
            print(f"could not drop {name}: {exc}", file=sys.stderr)


def count_rows(db: str, table: str) -> int:
    with psycopg.connect(f"{PG}/{db}") as conn:
        (count,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # type: ignore[misc]
    return int(count)


def app_env(data_dir: str) -> dict[str, str]:
    (Path(data_dir) / "static").mkdir(parents=True, exist_ok=True)  # whitenoise warns without
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="saleor_journeys.project.settings",
        DATABASE_URL=f"{PG}/{APP_DB}",
        CELERY_BROKER_URL=BROKER_URL,
        SECRET_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="127.0.0.1",
        SALEOR_JOURNEYS_DATA_DIR=data_dir,
    )
    return env


def baseline_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="baseline.settings",
        BASELINE_DATABASE_URL=f"{PG}/{BASELINE_DB}",
        SECRET_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="127.0.0.1",
        PYTHONPATH=str(HERE),
    )
    return env


def make_key() -> tuple[rsa.RSAPrivateKey, str, dict[str, object]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = "bench-" + secrets.token_hex(8)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=kid, use="sig", alg="RS256")
    return key, kid, {"keys": [jwk]}


def install(env: dict[str, str], jwks: dict[str, object]) -> None:
    """Migrate the app's database and create the Installation the deliveries come from."""
    subprocess.run(
        [CLI, "migrate", "--no-input", "-v", "0"],
        env=env,
        check=True,
    )
    # The ORM of the app itself, in this process, so the row is whatever the model says it is.
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connections

    from saleor_journeys.saleor.models import Installation

    Installation.objects.create(
        saleor_api_url=API_URL,
        saleor_domain="saleor.bench",
        jwks=jwks,
        jwks_fetched_at=datetime.now(UTC),
        is_active=True,
    )
    connections.close_all()


# --- deliveries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str]


def make_deliveries(count: int, key: rsa.RSAPrivateKey, kid: str, start: int) -> list[Delivery]:
    """``count`` signed checkout_updated deliveries, each with a distinct body."""
    template = json.loads(json.loads(FIXTURE.read_text())["body"])
    signer = jwt.api_jws.PyJWS()
    jws_headers = {"kid": kid, "b64": False, "crit": ["b64"]}
    epoch = datetime.now(UTC) - timedelta(hours=1)
    out = []
    for i in range(start, start + count):
        moment = (epoch + timedelta(milliseconds=i)).isoformat()
        token = str(uuid.uuid4())
        checkout = template["checkout"]
        checkout["token"] = token
        checkout["id"] = base64.b64encode(f"Checkout:{token}".encode()).decode()
        checkout["updatedAt"] = checkout["lastChange"] = moment
        template["issuedAt"] = moment
        body = json.dumps(template).encode()
        signature = signer.encode(
            body, key, algorithm="RS256", headers=jws_headers, is_payload_detached=True
        )
        out.append(
            Delivery(
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "Saleor-Event": EVENT,
                    "Saleor-Domain": "saleor.bench",
                    "Saleor-Api-Url": API_URL,
                    "Saleor-Signature": signature,
                },
            )
        )
    return out


def check_signature(delivery: Delivery, jwks: dict[str, object]) -> None:
    """The signature has the shape Saleor sends and the app's own verifier accepts it."""
    from saleor_journeys.saleor import jws

    signature = delivery.headers["Saleor-Signature"]
    protected, payload, sig = signature.split(".")
    assert protected and not payload and sig, f"not a detached JWS: {signature[:40]}…"
    header = json.loads(base64.urlsafe_b64decode(protected + "=" * (-len(protected) % 4)))
    assert header["alg"] == "RS256" and header["b64"] is False and header["crit"] == ["b64"]
    jws.verify(signature, delivery.body, jws.public_keys(jwks))
    try:
        jws.verify(signature, delivery.body + b" ", jws.public_keys(jwks))
    except jws.SignatureError:
        pass
    else:
        raise AssertionError("a tampered body passed the app's signature check")


# --- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gunicorn_options(port: int, workers: int, threads: int) -> list[str]:
    """What ``saleor-journeys serve`` gives gunicorn, spelled as gunicorn's command line."""
    return [
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        f"--threads={threads}",
        "--worker-class=gthread",
        "--access-logfile=-",
        "--timeout=30",
        "--graceful-timeout=20",
    ]


class Server:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int, log: Path):
        self.name, self.port, self.log_path = name, port, log
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            argv,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=str(REPO),
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer /healthz in {timeout}s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        self.log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            # The gunicorn master stops its workers on SIGTERM.
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=25)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        with contextlib.suppress(ProcessLookupError):  # a worker outlived its master
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def start_baseline(port: int, workers: int, threads: int, log: Path) -> Server:
    argv = [sys.executable, "-m", "gunicorn", *gunicorn_options(port, workers, threads)]
    argv += [f"--chdir={HERE}", "baseline.wsgi:application"]
    return Server("baseline", argv, baseline_env(), port, log)


def start_app(env: dict[str, str], port: int, workers: int, threads: int, log: Path) -> Server:
    argv = [CLI, "serve", "--host=127.0.0.1", f"--port={port}"]
    argv += [f"--workers={workers}", f"--threads={threads}"]
    return Server("app", argv, env, port, log)


# --- CPU accounting ---------------------------------------------------------------------------
# The machine is small and may be shared, so rates alone are noisy; CPU seconds spent per request
# by the server's processes and by its PostgreSQL backends are not.

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def group_cpu(pgid: int) -> float:
    """CPU seconds used so far by the processes of one process group (a gunicorn and workers)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(entry.name)) and fields[2] == str(pgid):
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def pid_cpu(pid: int | str) -> float:
    fields = _stat(str(pid))
    return (int(fields[11]) + int(fields[12])) / TICK if fields else 0.0


def backends_cpu(db: str) -> dict[str, float]:
    """CPU seconds used so far by each PostgreSQL backend connected to ``db``, by pid."""
    with psycopg.connect(f"{PG}/postgres") as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [db]).fetchall()
    return {str(pid): pid_cpu(pid) for (pid,) in rows}


# --- load client ------------------------------------------------------------------------------


@dataclass
class Result:
    ok: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    db_cpu: float = 0.0
    redis_cpu: float = 0.0
    written: int = 0

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0


def fire(port: int, deliveries: list[Delivery], concurrency: int) -> Result:
    """Send every delivery once over ``concurrency`` keep-alive connections."""
    return post_all(port, [(PATH, d.body, d.headers) for d in deliveries], concurrency)


def post_all(
    port: int,
    requests: list[tuple[str, bytes, dict[str, str]]],
    concurrency: int,
    accepted: Container[int] = range(200, 300),
) -> Result:
    """POST every ``(path, body, headers)`` once over ``concurrency`` keep-alive connections;
    an answer whose status is in ``accepted`` counts as ok."""
    result = Result()
    lock = threading.Lock()
    counter = itertools.count()
    start_gate = threading.Barrier(concurrency + 1)

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        ok, failures, samples, latencies = 0, {}, [], []
        start_gate.wait()
        while (i := next(counter)) < len(requests):
            path, body, headers = requests[i]
            began = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                status: int | str = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                status, data = type(exc).__name__, b""
            latencies.append(time.perf_counter() - began)
            if isinstance(status, int) and status in accepted:
                ok += 1
            else:
                failures[str(status)] = failures.get(str(status), 0) + 1
                if len(samples) < 3:
                    samples.append(f"{status}: {data[:200]!r}")
        conn.close()
        with lock:
            result.ok += ok
            for k, v in failures.items():
                result.failures[k] = result.failures.get(k, 0) + v
            result.samples.extend(samples)
            result.latencies.extend(latencies)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    start_gate.wait()
    began, began_cpu = time.perf_counter(), time.process_time()
    for t in threads:
        t.join()
    result.elapsed = time.perf_counter() - began
    result.client_cpu = time.process_time() - began_cpu
    return result


def report(name: str, r: Result, sent: int) -> None:
    print(
        f"  {name:11} {r.ok}/{sent} ok in {r.elapsed:.2f}s = {r.rate:,.0f} ev/s"
        f"  (latency p50 {r.percentile(0.5):.1f} ms, p99 {r.percentile(0.99):.1f} ms;"
        f" CPU ms/request: server {r.server_cpu / sent * 1000:.2f},"
        f" postgres {r.db_cpu / sent * 1000:.2f}, redis {r.redis_cpu / sent * 1000:.2f},"
        f" client {r.client_cpu / sent * 1000:.2f})"
    )
    if r.failures:
        print(f"  {name:11} FAILED: {r.failures}; e.g. {r.samples}")


# --- main -------------------------------------------------------------------------------------


def measure(server: Server, deliveries: list[Delivery], concurrency: int) -> Result:
    """One timed run, with the CPU its server, PostgreSQL and Redis spent and a row count."""
    db, table = (BASELINE_DB, "ingest") if server.name == "baseline" else (APP_DB, APP_TABLE)
    redis_pid = redis.Redis.from_url(BROKER_URL).info("server")["process_id"]
    rows_before = count_rows(db, table)
    cpu_before, db_before = group_cpu(server.proc.pid), backends_cpu(db)
    redis_before = pid_cpu(redis_pid)
    result = fire(server.port, deliveries, concurrency)
    result.server_cpu = group_cpu(server.proc.pid) - cpu_before
    result.redis_cpu = pid_cpu(redis_pid) - redis_before
    db_after = backends_cpu(db)
    result.db_cpu = sum(v - db_before.get(pid, 0.0) for pid, v in db_after.items())
    result.written = count_rows(db, table) - rows_before
    return result


def queued_deliveries(broker: redis.Redis, expected: int) -> tuple[int, int]:
    """Task messages in the queue and the delivery ids they carry. The app publishes in
    batches from a background thread, so the last batch may land a moment after the answers."""
    deadline = time.monotonic() + 10
    while True:
        raw = broker.lrange("celery", 0, -1)
        ids = 0
        for message in raw:
            body = json.loads(base64.b64decode(json.loads(message)["body"]))
            ids += len(body[0][0])
        if ids >= expected or time.monotonic() > deadline:
            return len(raw), ids
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", "-n", type=int, default=2000, help="requests per run")
    parser.add_argument("--concurrency", "-c", type=int, default=16, help="client connections")
    parser.add_argument("--workers", "-w", type=int, default=2, help="gunicorn workers (both)")
    parser.add_argument("--threads", "-t", type=int, default=4, help="threads per worker (both)")
    parser.add_argument("--rounds", "-r", type=int, default=3, help="runs per server, alternated")
    parser.add_argument("--warmup", type=int, default=200, help="uncounted requests per server")
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' logs")
    args = parser.parse_args()
    n, rounds = args.requests, args.rounds

    workdir = Path(tempfile.mkdtemp(prefix="sj-bench-"))
    env = app_env(str(workdir / "data"))
    broker = redis.Redis.from_url(BROKER_URL)
    servers: dict[str, Server] = {}
    try:
        t0 = time.perf_counter()
        broker.flushdb()
        create_databases()
        key, kid, jwks = make_key()
        install(env, jwks)
        deliveries = make_deliveries(args.warmup + rounds * n, key, kid, start=0)
        check_signature(deliveries[0], jwks)
        warmup = deliveries[: args.warmup]
        runs = [deliveries[args.warmup + r * n : args.warmup + (r + 1) * n] for r in range(rounds)]
        # Both servers run for the whole benchmark; only one is loaded at a time.
        servers["baseline"] = start_baseline(
            free_port(), args.workers, args.threads, workdir / "baseline.log"
        )
        servers["app"] = start_app(
            env, free_port(), args.workers, args.threads, workdir / "app.log"
        )
        for name, server in servers.items():
            server.wait_ready()
            warm = fire(server.port, warmup, min(args.concurrency, len(warmup)))
            assert not warm.failures, f"{name} warm-up failed: {warm.failures} {warm.samples}"
        print(
            f"setup {time.perf_counter() - t0:.1f}s: {len(deliveries)} signed {EVENT} bodies "
            f"of ~{len(warmup[0].body)} B; gunicorn gthread, {args.workers} workers x "
            f"{args.threads} threads each; N={n} per run, C={args.concurrency}, "
            f"{rounds} rounds, warm-up {args.warmup}"
        )

        results: dict[str, list[Result]] = {"baseline": [], "app": []}
        for r in range(rounds):
            # Alternate who goes first, so a drift in the machine's load hits both alike.
            order = ("baseline", "app") if r % 2 == 0 else ("app", "baseline")
            for name in order:
                result = measure(servers[name], runs[r], args.concurrency)
                report(f"{name} #{r + 1}", result, n)
                results[name].append(result)
                assert not result.failures, f"{name}: non-2xx answers {result.failures}"
                assert result.written == n, f"{name}: {result.written} rows written, not {n}"

        expected = args.warmup + rounds * n
        messages, queued = queued_deliveries(broker, expected)
        print(
            f"app stored every delivery; {queued} delivery ids were queued in Redis "
            f"in {messages} task messages"
        )
        assert queued == expected, f"{queued} deliveries queued in Redis, expected {expected}"

        app = statistics.median(r.rate for r in results["app"])
        base = statistics.median(r.rate for r in results["baseline"])
        print(
            f"app: {app:,.0f} ev/s  baseline: {base:,.0f} ev/s  ratio: {app / base:.2f}  "
            f"(medians of {rounds}; W={args.workers} T={args.threads} N={n} C={args.concurrency})"
        )
        cpu = {
            k: sum(r.server_cpu + r.db_cpu + r.redis_cpu for r in v) / (rounds * n) * 1000
            for k, v in results.items()
        }
        print(
            f"CPU per request (server + postgres + redis): app {cpu['app']:.2f} ms  "
            f"baseline {cpu['baseline']:.2f} ms  ratio: {cpu['baseline'] / cpu['app']:.2f}"
        )
        print("targets: app >= 50% of baseline and >= 1,000 ev/s (not asserted)")
    finally:
        for server in servers.values():
            server.stop()
        drop_databases()
        try:
            broker.flushdb()
        except redis.RedisError as exc:
            print(f"could not flush {BROKER_URL}: {exc}", file=sys.stderr)
        if args.keep_logs:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Fixtures for the integration tests: a real Redis broker and real Celery workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import connection

from tests.celery_app import app as celery_app

BROKER = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(BROKER)
    client.flushdb()
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield client
    celery_app.conf.task_always_eager = previous
    client.flushdb()


class Worker:
    """``celery worker`` in a subprocess, on the test database."""

    def __init__(
        self,
        log: Path,
        *,
        pool: str = "solo",
        concurrency: int | None = None,
        new_session: bool = False,
    ) -> None:
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.output: Any = None
        # A prefork pool's children, and a session of its own that ``kill_group`` can end whole.
        self.pool = pool
        self.concurrency = concurrency
        self.new_session = new_session

    def start(self, **extra_env: str) -> None:
        db = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": (
                f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
                f"{db['NAME']}"
            ),
            "TEST_CELERY_BROKER_URL": BROKER,
            "TEST_SWEEP_GRACE": "0",
            "TEST_CELERY_EAGER": "0",
            **extra_env,
        }
        self.output = self.log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.celery_app",
                "worker",
                f"--pool={self.pool}",
                *([f"--concurrency={self.concurrency}"] if self.concurrency else []),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=self.new_session,
        )

    def kill(self) -> None:
        """SIGKILL, as an out-of-memory killer or a lost machine would."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)

    def kill_group(self) -> None:
        """SIGKILL the worker and its pool children at once (needs ``new_session``)."""
        assert self.process is not None and self.new_session
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        if self.output is not None:
            self.output.close()


@pytest.fixture
def worker(tmp_path: Path, broker: redis.Redis) -> Iterator[Worker]:
    worker = Worker(tmp_path / "worker.log")
    yield worker
    worker.stop()


def wait_for(predicate: Any, worker: Worker, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if worker.process and worker.process.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(f"not done; worker log:\n{worker.log.read_text()[-3000:]}")

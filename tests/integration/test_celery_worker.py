"""With a real Redis broker and a real Celery worker, as in production."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import connection
from django.test import Client

from saleor_journeys.events.models import Event
from saleor_journeys.saleor.models import DeliveryStatus, Installation, WebhookDelivery
from tests.celery_app import app as celery_app
from tests.fixtures import deliveries
from tests.fixtures.signing import SigningKey

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

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

    def __init__(self, log: Path) -> None:
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.output: Any = None

    def start(self) -> None:
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
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )

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


def _post(client: Client, installation: Installation, key: SigningKey, quantity: int) -> Any:
    body = deliveries.payload("checkout_updated")
    body["checkout"]["quantity"] = quantity
    raw = deliveries.encode(body)
    return client.post(
        "/api/webhooks/checkout",
        data=raw,
        content_type="application/json",
        headers={
            "Saleor-Event": "checkout_updated",
            "Saleor-Api-Url": installation.saleor_api_url,
            "Saleor-Signature": key.sign(raw),
        },
    )


def test_webhook_is_answered_at_once_and_processed_by_the_worker(
    client: Client, installation: Installation, signing_key: SigningKey, worker: Worker
) -> None:
    response = _post(client, installation, signing_key, quantity=3)

    assert response.status_code == 200
    # Nothing processed it in the web process: it waits for the worker.
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PENDING
    worker.start()
    wait_for(lambda: Event.objects.exists(), worker)
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PROCESSED


def test_a_flushed_broker_loses_no_delivery(
    client: Client,
    installation: Installation,
    signing_key: SigningKey,
    worker: Worker,
    broker: redis.Redis,
) -> None:
    assert _post(client, installation, signing_key, quantity=5).status_code == 200
    broker.flushdb()  # the task message is gone; the stored delivery is not

    worker.start()
    celery_app.send_task("saleor_journeys.sweep_deliveries")

    wait_for(lambda: Event.objects.exists(), worker)
    assert Event.objects.get().data["quantity"] == 5
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PROCESSED

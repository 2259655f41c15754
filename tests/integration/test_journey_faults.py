"""Journey runs under faults, with real PostgreSQL, Redis and Celery workers: a flushed broker,
two sweepers at once. Each step happens once and only once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
import redis
from django.db import connection

from saleor_journeys.contacts.models import Contact
from saleor_journeys.core import clock
from saleor_journeys.journeys import versions
from saleor_journeys.journeys.models import Journey, Run, RunAction, RunStatus
from saleor_journeys.runtime import runs
from saleor_journeys.saleor.models import Installation
from tests.celery_app import app as celery_app
from tests.integration.conftest import Worker, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TAGGER = {
    "name": "Tag then mail",
    "trigger": {"type": "manual"},
    "start": "tag",
    "nodes": [
        {"id": "tag", "type": "update_contact", "add_tags": ["seen"], "score": 1, "next": "mail"},
        {"id": "mail", "type": "send", "channel": "email", "template": "hello"},
    ],
}


def _journey(installation: Installation) -> Journey:
    journey = versions.create(installation, TAGGER, actor="tests")
    versions.publish(journey, actor="tests")
    journey.refresh_from_db()
    return journey


def _contacts(installation: Installation, n: int) -> list[Contact]:
    return [
        Contact.objects.create(installation=installation, email=f"c{i}@example.org")
        for i in range(n)
    ]


def _assert_exactly_once(journey: Journey, expected_runs: int) -> None:
    assert Run.objects.filter(journey=journey, status=RunStatus.DONE).count() == expected_runs
    per_run = Counter(RunAction.objects.filter(run__journey=journey).values_list("run", "kind"))
    assert set(per_run.values()) == {1}
    assert len(per_run) == 2 * expected_runs
    assert Contact.objects.filter(score=1).count() == expected_runs  # the card changed once
    for run in Run.objects.filter(journey=journey):
        numbers = list(run.log.order_by("number").values_list("number", flat=True))
        assert numbers == list(range(len(numbers)))


def test_two_sweepers_at_once_step_each_run_once(installation: Installation) -> None:
    journey = _journey(installation)
    now = clock.now()
    for contact in _contacts(installation, 30):
        runs.enroll(journey, contact, now=now - timedelta(seconds=1))
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def sweeper() -> None:
        try:
            barrier.wait()
            while runs.sweep(limit=5):
                pass
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweeper) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    _assert_exactly_once(journey, 30)


def test_a_flushed_broker_delays_runs_and_loses_none(
    installation: Installation, worker: Worker, broker: redis.Redis
) -> None:
    journey = _journey(installation)
    enrolled = [runs.enroll(journey, c, now=clock.now()) for c in _contacts(installation, 5)]
    celery_app.send_task(
        "saleor_journeys.advance_runs", args=[[r.pk for r in enrolled if r is not None]]
    )
    broker.flushdb()  # every queued step is gone

    worker.start()
    celery_app.send_task("saleor_journeys.sweep_runs")

    wait_for(lambda: Run.objects.filter(status=RunStatus.DONE).count() == 5, worker)
    _assert_exactly_once(journey, 5)


def test_the_beat_sweep_hands_a_wave_of_due_runs_to_the_workers(
    installation: Installation, worker: Worker, broker: redis.Redis
) -> None:
    journey = _journey(installation)
    for contact in _contacts(installation, 120):
        runs.enroll(journey, contact, now=clock.now())
    broker.flushdb()  # as if they had waited for days: only the sweep knows they are due

    worker.start()
    celery_app.send_task("saleor_journeys.sweep_runs")

    wait_for(lambda: Run.objects.filter(status=RunStatus.DONE).count() == 120, worker)
    _assert_exactly_once(journey, 120)
    log = worker.log.read_text()
    # Handed out in messages of 50 runs, not stepped one by one inside the sweep.
    assert log.count("saleor_journeys.advance_runs") >= 3, log

"""Without a broker, the web process's own thread does the beat's work: waits end on time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from saleor_journeys.contacts.models import Contact
from saleor_journeys.journeys import versions
from saleor_journeys.journeys.models import Run, RunStatus
from saleor_journeys.runtime import embedded, runs
from saleor_journeys.saleor.models import Installation

WAITS = {
    "name": "Waits a minute",
    "trigger": {"type": "manual"},
    "start": "later",
    "nodes": [
        {"id": "later", "type": "wait", "duration": "1m", "next": "done"},
        {"id": "done", "type": "exit"},
    ],
}


@pytest.fixture
def waiting_run(installation: Installation) -> Run:
    journey = versions.create(installation, WAITS, actor="tests")
    versions.publish(journey, actor="tests")
    contact = Contact.objects.create(installation=installation, email="ana@example.org")
    run = runs.enroll(journey, contact, now=timezone.now(), trigger_key="manual:1")
    assert run is not None
    runs.advance(run.pk)
    run.refresh_from_db()
    assert run.status == RunStatus.WAITING
    # The minute has passed: only a sweep can step it now.
    Run.objects.filter(pk=run.pk).update(
        wake_at=timezone.now() - timedelta(seconds=1), timer_at=timezone.now()
    )
    return run


@pytest.fixture
def fast_beat(settings: Any) -> Iterator[None]:
    settings.SALEOR_JOURNEYS = {
        **settings.SALEOR_JOURNEYS,
        "RUN_SWEEP_INTERVAL": 1,
        "SWEEP_INTERVAL": 1,
    }
    yield


def _wait_for(check: Any, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_wait_ends_without_a_broker_or_a_beat(waiting_run: Run, fast_beat: None) -> None:
    sweeper = embedded.start_sweeper()
    try:
        assert _wait_for(lambda: Run.objects.get(pk=waiting_run.pk).status == RunStatus.DONE), (
            "the in-process beat never stepped the due run"
        )
    finally:
        sweeper.stop()


@pytest.mark.django_db(transaction=True)
def test_with_the_in_process_beat_off_only_deliveries_are_swept(
    waiting_run: Run, fast_beat: None, settings: Any
) -> None:
    settings.SALEOR_JOURNEYS = {**settings.SALEOR_JOURNEYS, "IN_PROCESS_BEAT": False}
    sweeper = embedded.start_sweeper()
    try:
        time.sleep(3)  # three sweeps of deliveries
    finally:
        sweeper.stop()
    assert Run.objects.get(pk=waiting_run.pk).status == RunStatus.WAITING

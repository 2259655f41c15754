"""Stored deliveries are processed exactly once, even when their task is lost or fails."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction

from saleor_journeys.core import clock
from saleor_journeys.core.clock import FrozenClock
from saleor_journeys.events.models import Event
from saleor_journeys.runtime import deliveries as runtime
from saleor_journeys.saleor import webhooks
from saleor_journeys.saleor.models import DeliveryStatus, Installation, WebhookDelivery
from tests.fixtures import deliveries
from tests.fixtures.signing import SigningKey


def _receive_without_task(
    installation: Installation, signing_key: SigningKey, captured: Any, **changes: Any
) -> WebhookDelivery:
    """Store a delivery whose task never runs: what a broker flush or a dead worker leaves."""
    body = deliveries.payload("checkout_updated")
    body["checkout"].update(changes)
    raw = deliveries.encode(body)
    with captured(execute=False) as callbacks:
        receipt = webhooks.receive(
            api_url=installation.saleor_api_url,
            event="checkout_updated",
            signature=signing_key.sign(raw),
            body=raw,
        )
    assert len(callbacks) == 1  # the task would have been queued on commit
    return WebhookDelivery.objects.get(pk=receipt.delivery_id)


def _stored_delivery(installation: Installation) -> WebhookDelivery:
    """A pending delivery of a real recorded body, written directly (no request, no task)."""
    body = deliveries.recorded("checkout_updated")["body"]
    return WebhookDelivery.objects.create(
        installation=installation,
        event_type="checkout_updated",
        body=body,
        body_sha256=hashlib.sha256(body.encode()).hexdigest(),
        received_at=clock.now(),
        next_attempt_at=clock.now(),
    )


def test_sweeper_processes_a_delivery_whose_task_was_lost(
    installation: Installation, signing_key: SigningKey, django_capture_on_commit_callbacks: Any
) -> None:
    delivery = _receive_without_task(installation, signing_key, django_capture_on_commit_callbacks)
    assert delivery.status == DeliveryStatus.PENDING

    with FrozenClock(clock.now() + timedelta(minutes=1)):
        processed = runtime.sweep()

    assert processed == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PROCESSED
    assert Event.objects.count() == 1


def test_sweeper_leaves_fresh_deliveries_to_their_own_task(
    installation: Installation, signing_key: SigningKey, django_capture_on_commit_callbacks: Any
) -> None:
    _receive_without_task(installation, signing_key, django_capture_on_commit_callbacks)

    assert runtime.sweep() == 0
    assert Event.objects.count() == 0


def test_processing_twice_is_a_no_op(
    installation: Installation, signing_key: SigningKey, django_capture_on_commit_callbacks: Any
) -> None:
    delivery = _receive_without_task(installation, signing_key, django_capture_on_commit_callbacks)

    assert runtime.process(delivery.pk) is True
    assert runtime.process(delivery.pk) is False
    assert runtime.process(123456789) is False  # a row that is gone

    assert Event.objects.count() == 1


def test_failed_processing_is_retried_with_backoff_then_marked_failed(
    installation: Installation,
    signing_key: SigningKey,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.SALEOR_JOURNEYS = {
        **settings.SALEOR_JOURNEYS,
        "DELIVERY_MAX_ATTEMPTS": 3,
        "DELIVERY_RETRY_DELAY": 10,
    }
    delivery = _receive_without_task(installation, signing_key, django_capture_on_commit_callbacks)
    # Break the stored row the way a bug in a handler would surface: it no longer parses.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(body='{"__typename": "CheckoutUpdated"}')
    start = clock.now()

    with FrozenClock(start) as frozen:
        assert runtime.process(delivery.pk) is False
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
        assert delivery.next_attempt_at == start + timedelta(seconds=10)
        assert "does not match" in delivery.last_error
        frozen.advance(timedelta(seconds=30))
        runtime.sweep()
        delivery.refresh_from_db()
        assert delivery.attempts == 2
        assert delivery.next_attempt_at == frozen.at + timedelta(seconds=20)
        frozen.advance(timedelta(minutes=5))
        runtime.sweep()

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 3)
    assert Event.objects.count() == 0
    assert WebhookDelivery.objects.get(pk=delivery.pk).body  # kept for a manual retry


def test_a_failing_delivery_does_not_block_the_others(
    installation: Installation, signing_key: SigningKey, django_capture_on_commit_callbacks: Any
) -> None:
    broken = _receive_without_task(
        installation, signing_key, django_capture_on_commit_callbacks, quantity=1
    )
    WebhookDelivery.objects.filter(pk=broken.pk).update(body="{}")
    _receive_without_task(installation, signing_key, django_capture_on_commit_callbacks, quantity=2)

    with FrozenClock(clock.now() + timedelta(minutes=1)):
        assert runtime.sweep() == 1

    assert Event.objects.get().data["quantity"] == 2


@pytest.mark.django_db(transaction=True)
def test_two_workers_handed_the_same_delivery_process_it_once(
    installation: Installation,
) -> None:
    delivery = _stored_delivery(installation)
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        try:
            results.append(runtime.process(delivery.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False, False, False, True]
    assert Event.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_lock_on_the_installation_does_not_make_workers_skip_its_deliveries(
    installation: Installation,
) -> None:
    """Workers process one shop's deliveries side by side; a JWKS refresh or another worker
    holding the installation row must not make them skip (and leave it to the sweeper)."""
    delivery = _stored_delivery(installation)
    locked, release = threading.Event(), threading.Event()

    def hold_installation_row() -> None:
        try:
            with transaction.atomic():
                # What an UPDATE of the row (a JWKS refresh) holds.
                Installation.objects.select_for_update(no_key=True).get(pk=installation.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_installation_row)
    holder.start()
    try:
        assert locked.wait(5)
        processed = runtime.process(delivery.pk)
    finally:
        release.set()
        holder.join()

    assert processed is True
    assert Event.objects.count() == 1

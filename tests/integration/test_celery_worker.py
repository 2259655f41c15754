"""With a real Redis broker and a real Celery worker, as in production."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from django.test import Client

from saleor_journeys.events.models import Event
from saleor_journeys.saleor.models import DeliveryStatus, Installation, WebhookDelivery
from tests.celery_app import app as celery_app
from tests.fixtures import deliveries
from tests.fixtures.signing import SigningKey
from tests.integration.conftest import Worker, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


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

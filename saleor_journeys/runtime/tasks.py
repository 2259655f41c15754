"""Celery tasks. They take ids, are safe to run twice, and leave the Celery app to the host."""

from __future__ import annotations

import logging

from celery import shared_task

from saleor_journeys.runtime import deliveries

logger = logging.getLogger(__name__)


@shared_task(name="saleor_journeys.process_delivery", acks_late=True, ignore_result=True)
def process_delivery(delivery_id: int) -> bool:
    return deliveries.process(delivery_id)


@shared_task(name="saleor_journeys.sweep_deliveries", ignore_result=True)
def sweep_deliveries() -> int:
    """Periodic: process deliveries whose task was lost (broker flushed, worker killed)."""
    return deliveries.sweep()


def enqueue_delivery(delivery_id: int) -> None:
    """Hand a stored delivery to a worker. A broker outage only delays it: the sweeper has it."""
    try:
        process_delivery.delay(delivery_id)
    except Exception:
        logger.warning(
            "Could not enqueue delivery %s; the sweeper will process it", delivery_id, exc_info=True
        )

"""Celery tasks. They take ids, are safe to run twice, and leave the Celery app to the host."""

from __future__ import annotations

import logging

from celery import shared_task

from saleor_journeys.runtime import deliveries
from saleor_journeys.runtime.publisher import BatchPublisher

logger = logging.getLogger(__name__)


@shared_task(name="saleor_journeys.process_deliveries", acks_late=True, ignore_result=True)
def process_deliveries(delivery_ids: list[int]) -> int:
    """Process stored deliveries; ids already processed (or gone) are skipped."""
    return sum(deliveries.process(delivery_id) for delivery_id in delivery_ids)


@shared_task(name="saleor_journeys.sweep_deliveries", ignore_result=True)
def sweep_deliveries() -> int:
    """Periodic: process deliveries whose task was lost (broker flushed, worker killed)."""
    return deliveries.sweep()


_publisher = BatchPublisher(lambda ids: process_deliveries.delay(ids))


def enqueue_delivery(delivery_id: int) -> None:
    """Hand a stored delivery to a worker. A broker outage only delays it: the sweeper has it."""
    if process_deliveries.app.conf.task_always_eager:
        # No broker (the embedded default, tests): process it here and now.
        try:
            process_deliveries.delay([delivery_id])
        except Exception:
            logger.exception("Processing delivery %s failed; the sweeper retries", delivery_id)
        return
    _publisher.submit(delivery_id)

"""Turning stored deliveries into contacts, mirrors and events, exactly once.

A delivery is claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` and marked processed in the same
transaction as everything its handler writes; a worker killed halfway leaves it pending for the
sweeper, and a second worker handed the same id finds it locked or done and returns.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction

from saleor_journeys import conf
from saleor_journeys.core import clock
from saleor_journeys.runtime.context import IngestContext
from saleor_journeys.saleor.models import DeliveryStatus, WebhookDelivery
from saleor_journeys.triggers import registry

logger = logging.getLogger(__name__)


def process(delivery_id: int) -> bool:
    """Process one pending delivery; False when it is gone, done, or being processed elsewhere."""
    with transaction.atomic():
        delivery = (
            # Lock the delivery only: locking the joined installation row too would make every
            # other worker skip its own deliveries of the same shop.
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("installation")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
            .first()
        )
        if delivery is None:
            return False
        now = clock.now()
        if delivery.erased and not delivery.body:
            # Erased before it was processed: it described a person who is forgotten now.
            delivery.status = DeliveryStatus.PROCESSED
            delivery.processed_at = now
            delivery.save(update_fields=["status", "processed_at"])
            return False
        delivery.attempts += 1
        try:
            with transaction.atomic():
                _apply(delivery, now)
        except Exception as exc:
            _record_failure(delivery, now, exc)
            return False
        delivery.status = DeliveryStatus.PROCESSED
        delivery.processed_at = now
        delivery.last_error = ""
        delivery.save(
            update_fields=["status", "processed_at", "attempts", "last_error", "body", "erased"]
        )
        return True


def _apply(delivery: WebhookDelivery, now: datetime) -> None:
    trigger = registry.get(delivery.event_type)
    if trigger is None:
        raise LookupError(f"no trigger is registered for {delivery.event_type}")
    payload = trigger.parse(delivery.body)
    ctx = IngestContext(
        installation=delivery.installation,
        delivery=delivery,
        issued_at=payload.issued_at,
        now=now,
    )
    trigger.handle(ctx, payload)
    if ctx.erased:
        # The body names a person who asked to be forgotten; keep only its hash for dedup.
        delivery.body = ""
        delivery.erased = True


def _record_failure(delivery: WebhookDelivery, now: datetime, exc: Exception) -> None:
    max_attempts = conf.get("DELIVERY_MAX_ATTEMPTS")
    delay = conf.get("DELIVERY_RETRY_DELAY") * 2 ** (delivery.attempts - 1)
    delivery.last_error = f"{exc.__class__.__name__}: {exc}"[:2000]
    delivery.next_attempt_at = now + timedelta(seconds=delay)
    if delivery.attempts >= max_attempts:
        delivery.status = DeliveryStatus.FAILED
    delivery.save(update_fields=["attempts", "last_error", "next_attempt_at", "status"])
    logger.exception(
        "Processing %s delivery %s failed (attempt %s of %s)",
        delivery.event_type,
        delivery.pk,
        delivery.attempts,
        max_attempts,
        exc_info=exc,
    )


def due(limit: int | None = None, grace: int | None = None) -> list[int]:
    """Ids of pending deliveries whose own task had its chance (``grace`` s), oldest first."""
    grace = conf.get("SWEEP_GRACE") if grace is None else grace
    cutoff = clock.now() - timedelta(seconds=grace)
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=cutoff)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[: limit or conf.get("SWEEP_BATCH")]
    )


def sweep(limit: int | None = None, grace: int | None = None) -> int:
    """Process every due delivery; returns how many were processed."""
    return sum(process(delivery_id) for delivery_id in due(limit, grace))

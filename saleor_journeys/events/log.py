"""Appending to the event log."""

from __future__ import annotations

from typing import Any

from saleor_journeys.contacts.models import Contact
from saleor_journeys.events.models import Event
from saleor_journeys.runtime.context import IngestContext


def append(
    ctx: IngestContext,
    type: str,
    contact: Contact | None,
    data: dict[str, Any],
    *,
    superseded: bool = False,
) -> Event:
    """Log one event of the delivery being processed; a repeat of the same delivery is a no-op."""
    key = f"saleor:{ctx.delivery.body_sha256}:{type}"
    event, created = Event.objects.get_or_create(
        installation=ctx.installation,
        key=key,
        defaults={
            "contact": contact,
            "type": type,
            "source": "saleor",
            "occurred_at": ctx.issued_at,
            "received_at": ctx.delivery.received_at,
            "data": data,
            "superseded": superseded,
            "delivery": ctx.delivery,
        },
    )
    if created:
        # Journeys hear of it in the same transaction: an event is never half-delivered to them.
        from saleor_journeys.runtime.runs import on_event

        on_event(event)
    return event

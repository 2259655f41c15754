"""Appending to the event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from saleor_journeys.contacts import score
from saleor_journeys.contacts.models import Contact
from saleor_journeys.core import rows
from saleor_journeys.events.models import Event
from saleor_journeys.runtime.context import IngestContext


def record(
    *,
    installation_id: int,
    contact: Contact | None,
    type: str,
    source: str,
    key: str,
    occurred_at: datetime,
    received_at: datetime,
    data: dict[str, Any],
    hand_to_journeys: bool = True,
    **fields: Any,
) -> Event:
    """Log one event under its idempotency key; a repeat is a no-op. A new event reaches the
    journeys in the same transaction (``hand_to_journeys=False``: the caller does it later)."""
    event, created = rows.create_or_get(
        Event,
        {"installation_id": installation_id, "key": key[:128]},
        {
            "contact": contact,
            "type": type,
            "source": source,
            "occurred_at": occurred_at,
            "received_at": received_at,
            "data": data,
            **fields,
        },
    )
    if not created:
        return event
    if contact is not None:
        score.add(contact, score.weight(type), received_at)
    if hand_to_journeys:
        # Journeys hear of it in the same transaction: an event is never half-delivered to them.
        from saleor_journeys.runtime.runs import on_event

        on_event(event)
    return event


def append(
    ctx: IngestContext,
    type: str,
    contact: Contact | None,
    data: dict[str, Any],
    *,
    superseded: bool = False,
) -> Event:
    """Log one event of the delivery being processed; a repeat of the same delivery is a no-op."""
    return record(
        installation_id=ctx.installation.pk,
        contact=contact,
        type=type,
        source="saleor",
        key=f"saleor:{ctx.delivery.body_sha256}:{type}",
        occurred_at=ctx.issued_at,
        received_at=ctx.delivery.received_at,
        data=data,
        superseded=superseded,
        delivery=ctx.delivery,
    )

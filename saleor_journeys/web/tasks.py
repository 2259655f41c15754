"""Celery tasks of the web channel. Like the others, they are safe to run twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import shared_task
from django.db import transaction
from django.db.models import Exists, OuterRef

from saleor_journeys import conf
from saleor_journeys.contacts.models import Contact, ContactKind
from saleor_journeys.core import clock
from saleor_journeys.events.models import Event
from saleor_journeys.web.models import PushSubscription, Visitor

# Rows one purge deletes at most, per kind: a backlog (the first run after an outage) is
# worked off over several runs instead of in one long transaction.
PURGE_BATCH = 5000


@dataclass(frozen=True)
class Purged:
    events: int
    contacts: int


def purge(now: datetime | None = None, *, limit: int = PURGE_BATCH) -> Purged:
    """Delete what is kept of anonymous visitors beyond ``WEB_ANONYMOUS_RETENTION``: events of
    anonymous cards that occurred before it, then anonymous cards left with no event, no
    visitor seen since and no push subscription (with their visitors). Up to ``limit`` of
    each; identified and monitored cards are never touched."""
    now = now or clock.now()
    cutoff = now - timedelta(seconds=conf.get("WEB_ANONYMOUS_RETENTION"))
    with transaction.atomic():
        old = (
            Event.objects.filter(contact__kind=ContactKind.ANONYMOUS, occurred_at__lt=cutoff)
            .order_by()
            .values_list("pk", flat=True)[:limit]
        )
        ids = list(old)
        # Deleting cascades through every related table: not for nothing.
        events = Event.objects.filter(pk__in=ids).delete()[0] if ids else 0
    with transaction.atomic():
        empty = (
            Contact.objects.select_for_update(skip_locked=True)
            .filter(kind=ContactKind.ANONYMOUS)
            .exclude(Exists(Event.objects.filter(contact=OuterRef("pk"))))
            .exclude(
                Exists(Visitor.objects.filter(contact=OuterRef("pk"), last_seen_at__gte=cutoff))
            )
            # A browser subscribed to push may be written to: its card stays.
            .exclude(Exists(PushSubscription.objects.filter(contact=OuterRef("pk"))))
            .order_by()
            .values_list("pk", flat=True)[:limit]
        )
        ids = list(empty)
        if ids:
            Contact.objects.filter(pk__in=ids).delete()
    return Purged(events=events, contacts=len(ids))


@shared_task(name="saleor_journeys.purge_anonymous", ignore_result=True)
def purge_anonymous() -> int:
    """Periodic: forget anonymous visitors' data older than ``WEB_ANONYMOUS_RETENTION``."""
    purged = purge()
    return purged.events + purged.contacts

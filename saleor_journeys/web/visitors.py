"""Browsers by the id ``journeys.js`` keeps in them, each with its contact."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from saleor_journeys.contacts.models import Contact, ContactKind
from saleor_journeys.web.models import Visitor

# ``last_seen_at`` is written at most this often per visitor: a page view, its engaged time and
# the custom events of a visit do not each need a write to say the browser is still there.
SEEN_RESOLUTION = timedelta(minutes=1)


def visitor_for(installation_id: int, uid: str, now: datetime) -> Visitor:
    """The installation's visitor with this id (its contact loaded), made on first sight with
    an anonymous contact of its own."""
    visitor = _get(installation_id, uid)
    if visitor is None:
        try:
            # A savepoint: two first requests of one browser race here; the loser's contact
            # goes with its visitor row, and it reads the winner's.
            with transaction.atomic():
                contact = Contact.objects.create(
                    installation_id=installation_id, kind=ContactKind.ANONYMOUS, email=None
                )
                return Visitor.objects.create(
                    installation_id=installation_id,
                    uid=uid,
                    contact=contact,
                    created_at=now,
                    last_seen_at=now,
                )
        except IntegrityError:
            visitor = _get(installation_id, uid)
            if visitor is None:
                raise
    if now - visitor.last_seen_at >= SEEN_RESOLUTION:
        Visitor.objects.filter(pk=visitor.pk).update(last_seen_at=now)
        visitor.last_seen_at = now
    return visitor


def _get(installation_id: int, uid: str) -> Visitor | None:
    return (
        Visitor.objects.select_related("contact")
        .filter(installation_id=installation_id, uid=uid)
        .first()
    )

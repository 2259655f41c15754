"""The behavioural score: points for what a person does, halving every
``SCORE_HALF_LIFE_DAYS`` without new activity.

Stored as a value at a time (``Contact.score`` as of ``Contact.score_at``), so adding points is
one update and reading it needs no scan of the event log: the decay since ``score_at`` is
applied on the way in and on the way out.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import F

from saleor_journeys import conf
from saleor_journeys.contacts.models import Contact


def decayed(score: float, since: datetime | None, now: datetime) -> float:
    """``score`` as it was at ``since``, decayed to ``now``."""
    if since is None or not score:
        return score
    days = max((now - since).total_seconds(), 0.0) / 86400
    return score * 0.5 ** (days / conf.get("SCORE_HALF_LIFE_DAYS"))


def value(contact: Contact, now: datetime) -> float:
    """The contact's score now, rounded to two decimals."""
    return round(decayed(contact.score, contact.score_at, now), 2)


def weight(event_type: str) -> float:
    return float(conf.get("SCORE_WEIGHTS").get(event_type, 0))


def add(contact: Contact, points: float, now: datetime) -> None:
    """Add points as of ``now`` and store the result on the contact (in the caller's
    transaction; the row should be locked, or the caller accepts a lost update)."""
    if not points:
        return
    contact.score = decayed(contact.score, contact.score_at, now) + points
    contact.score_at = now
    Contact.objects.filter(pk=contact.pk).update(
        score=contact.score, score_at=now, updated_at=F("updated_at")
    )

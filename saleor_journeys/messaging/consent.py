"""Changing a contact's consent: one row per channel, and an event in their timeline for every
change, with its source, so the history is in one place."""

from __future__ import annotations

from datetime import datetime

from saleor_journeys.contacts.models import Contact
from saleor_journeys.core import clock
from saleor_journeys.events import log
from saleor_journeys.messaging.models import Consent, ConsentStatus


def set_consent(contact: Contact, channel: str, status: str, *, source: str) -> Consent:
    now = clock.now()
    consent, created = Consent.objects.get_or_create(
        contact=contact,
        channel=channel,
        defaults={"status": status, "source": source, "at": now},
    )
    if not created and consent.status == status:
        return consent  # nothing changes (a second click on "unsubscribe")
    previous = ConsentStatus.UNKNOWN if created else consent.status
    consent.status, consent.source, consent.at = status, source, now
    consent.save()
    _log(contact, channel, previous, status, source, now)
    return consent


def _log(
    contact: Contact, channel: str, previous: str, status: str, source: str, at: datetime
) -> None:
    log.record(
        installation_id=contact.installation_id,
        contact=contact,
        type="consent_changed",
        source="journeys",
        key=f"consent:{contact.pk}:{channel}:{at.isoformat()}",
        occurred_at=at,
        received_at=at,
        data={"channel": channel, "from": previous, "to": status, "source": source},
        hand_to_journeys=False,
    )


def request_opt_in(contact: Contact, *, source: str) -> Consent:
    """Someone asked for marketing email (a form, the API). With ``DOUBLE_OPT_IN`` the address
    is only ``subscribed`` once its owner confirms from the emailed link (single use,
    expiring); without it, at once."""
    from saleor_journeys import conf
    from saleor_journeys.messaging import links
    from saleor_journeys.messaging.outbox import send_direct

    current = Consent.objects.filter(contact=contact, channel="email").first()
    if current is not None and current.status == ConsentStatus.SUBSCRIBED:
        return current
    if not conf.get("DOUBLE_OPT_IN"):
        return set_consent(contact, "email", ConsentStatus.SUBSCRIBED, source=source)
    now = clock.now()
    # Pending: "unknown" until confirmed. Its time is in the link, so the link works once.
    pending, _ = Consent.objects.update_or_create(
        contact=contact,
        channel="email",
        defaults={"status": ConsentStatus.UNKNOWN, "source": f"{source}:pending", "at": now},
    )
    url = links.opt_in_url(contact.pk, pending.at.isoformat())
    send_direct(
        contact,
        "confirm-subscription",
        key=f"opt-in:{contact.pk}:{now.isoformat()}"[:128],
        links={"opt_in": url},
    )
    return pending

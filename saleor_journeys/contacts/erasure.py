"""Forgetting a person when Saleor deletes their account."""

from __future__ import annotations

import json

from django.db.models import Q

from saleor_journeys.commerce.models import Checkout, Order
from saleor_journeys.contacts.identity import email_sha256, find, normalise_email
from saleor_journeys.contacts.models import Contact, Erasure
from saleor_journeys.events.models import Event
from saleor_journeys.runtime.context import IngestContext
from saleor_journeys.saleor.models import WebhookDelivery
from saleor_journeys.triggers import payloads


def erase(ctx: IngestContext, user: payloads.User) -> Contact | None:
    """Erase the personal data of the person behind ``user``; return the emptied card.

    The card stays as a pseudonymous shell so that counts and revenue remain right; its events
    lose their data and the raw deliveries that mentioned the person lose their bodies.
    """
    email = normalise_email(user.email)
    Erasure.objects.create(
        installation=ctx.installation,
        saleor_user_id=user.id,
        email_sha256=email_sha256(email) if email else "",
        issued_at=ctx.issued_at,
    )
    ctx.erased = True
    contact = find(ctx, saleor_user_id=user.id, email=email)
    events = Event.objects.filter(contact=contact) if contact else Event.objects.none()

    mentions = Q(pk__in=events.exclude(delivery=None).values("delivery_id"))
    if email:
        # Deliveries not linked to the card (failed ones, or none exists) name the address too:
        # as a whole JSON string, so erasing ann@x does not touch joann@x.
        mentions |= Q(body__icontains=json.dumps(email))
    WebhookDelivery.objects.filter(mentions, installation=ctx.installation).exclude(
        pk=ctx.delivery.pk
    ).update(body="", erased=True)
    if contact is None:
        return None

    events.update(data={})
    Checkout.objects.filter(contact=contact).update(email=None, metadata={})
    Order.objects.filter(contact=contact).update(email=None)

    contact.email = None
    contact.first_name = contact.last_name = contact.phone = contact.city = ""
    contact.country = contact.language_code = ""
    contact.properties = {}
    contact.erased_at = ctx.now
    contact.save()
    return contact

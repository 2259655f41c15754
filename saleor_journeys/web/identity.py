"""Tying a browser to a person: a visitor's anonymous card becomes part of the person's card.

Every visitor starts on an anonymous card of its own. When it turns out who is behind it (a
form, the snippet's ``identify`` call, a link carrying an identity token, a checkout with the
visitor id in its metadata), :func:`identify` moves the visitor to the person's card, which
becomes ``monitored``, and merges the anonymous card into it (``contacts.merge``): only the
events of the last ``WEB_IDENTITY_WINDOW`` go with it, since a browser shared earlier may have
been someone else's. The older ones stay on the anonymous card until the purge
(``web.tasks.purge_anonymous``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from saleor_journeys import conf
from saleor_journeys.contacts import merge
from saleor_journeys.contacts.identity import email_sha256
from saleor_journeys.contacts.models import Contact, ContactKind, Erasure
from saleor_journeys.events import log
from saleor_journeys.runtime.context import IngestContext
from saleor_journeys.triggers import payloads
from saleor_journeys.web import links
from saleor_journeys.web.models import Visitor

logger = logging.getLogger(__name__)

IDENTIFIED = "identified"
# The checkout metadata key a storefront writes the snippet's visitor id into.
VISITOR_METADATA_KEY = "journeys_visitor_id"
# Props that fill the card's own fields (when blank), with their length; others are properties.
_PROFILE_PROPS = {"first_name": 255, "last_name": 255, "phone": 32}


def window() -> timedelta:
    return timedelta(seconds=conf.get("WEB_IDENTITY_WINDOW"))


def identify(visitor: Visitor, contact: Contact, *, source: str, now: datetime) -> Contact:
    """Tie ``visitor`` to ``contact``; returns the contact (``monitored`` now).

    The anonymous card the visitor was on is merged into the contact with its events of the
    last ``WEB_IDENTITY_WINDOW`` (an event exactly that old included). A visitor on another
    person's card (a shared computer) simply moves: nothing of that person goes along.
    Identifying as the contact the visitor is on already changes nothing; an erased contact is
    returned as it is."""
    contact = merge.current(contact)
    if contact.erased_at is not None:
        return contact
    if contact.kind == ContactKind.ANONYMOUS:
        raise ValueError("a visitor can only be identified as a known person's card")
    if visitor.installation_id != contact.installation_id:
        raise ValueError("the visitor and the contact belong to different installations")
    with transaction.atomic():
        row = Visitor.objects.select_for_update().get(pk=visitor.pk)
        if row.contact_id == contact.pk:
            _sync(visitor, row, contact)
            return contact
        previous = Contact.objects.get(pk=row.contact_id)
        attached = 0
        if (
            previous.kind == ContactKind.ANONYMOUS
            and previous.erased_at is None
            and not merge.is_merged(previous)
        ):
            merged = merge.merge(
                contact,
                previous,
                reason=f"visitor:{source}",
                now=now,
                events_since=now - window(),
            )
            attached = len(merged.data["moved"]["events"])
        # After the merge, which moved it along with its card and recorded what it was.
        Visitor.objects.filter(pk=row.pk).update(
            contact=contact, identified_at=now, identified_by=source
        )
        row.refresh_from_db()
        if contact.kind != ContactKind.MONITORED:
            Contact.objects.filter(pk=contact.pk).update(kind=ContactKind.MONITORED)
            contact.kind = ContactKind.MONITORED
        log.record(
            installation_id=contact.installation_id,
            contact=contact,
            type=IDENTIFIED,
            source="web",
            key=f"web:identified:{row.pk}:{contact.pk}:{now.isoformat()}",
            occurred_at=now,
            received_at=now,
            data={"visitor": row.uid, "source": source, "events": attached},
        )
    _sync(visitor, row, contact)
    return contact


def _sync(visitor: Visitor, row: Visitor, contact: Contact) -> None:
    """The caller's instance as the database has it now."""
    visitor.contact = contact
    visitor.identified_at = row.identified_at
    visitor.identified_by = row.identified_by


def normalise_email(value: str) -> str | None:
    """The lower-cased address when it is a valid one, else None."""
    email = (value or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        return None
    return email


def identify_email(
    visitor: Visitor, email: str, props: dict[str, Any], *, source: str, now: datetime
) -> Contact | None:
    """Identify ``visitor`` as the person with this email (a form, the snippet's ``identify``
    call, the API): their card, or a new one. ``first_name``, ``last_name`` and ``phone`` fill
    blank fields; other props are set in the card's properties. None for an invalid address and
    for a person who was erased (they are not re-created from a browser)."""
    address = normalise_email(email)
    if address is None:
        return None
    if Erasure.objects.filter(
        installation_id=visitor.installation_id, email_sha256=email_sha256(address)
    ).exists():
        return None
    with transaction.atomic():
        contact = _card(visitor.installation_id, address)
        if contact.erased_at is not None:
            return None
        _apply_props(contact, props)
        return identify(visitor, contact, source=source, now=now)


def _card(installation_id: int, email: str) -> Contact:
    """The card with this email, locked; created when there is none."""
    contacts = Contact.objects.select_for_update().filter(installation_id=installation_id)
    contact = contacts.filter(email=email).first()
    if contact is not None:
        return merge.current(contact)
    try:
        with transaction.atomic():
            return Contact.objects.create(
                installation_id=installation_id, email=email, kind=ContactKind.IDENTIFIED
            )
    except IntegrityError:
        # Created a moment ago by another request: use it.
        return contacts.get(email=email)


def _apply_props(contact: Contact, props: dict[str, Any]) -> None:
    changed: list[str] = []
    properties = dict(contact.properties)
    for key, value in (props or {}).items():
        if key in _PROFILE_PROPS:
            text = str(value).strip()[: _PROFILE_PROPS[key]] if value is not None else ""
            if text and not getattr(contact, key):
                setattr(contact, key, text)
                changed.append(key)
        elif key not in ("email", merge.MERGED_INTO) and properties.get(key) != value:
            properties[key] = value
    if properties != contact.properties:
        contact.properties = properties
        changed.append("properties")
    if changed:
        contact.save(update_fields=[*changed, "updated_at"])


def identify_token(visitor: Visitor, token: str, *, now: datetime) -> Contact | None:
    """Identify ``visitor`` from the ``sj`` token of a link (``web.links``); None when the token
    is not valid (changed, expired, another installation's) or its person was erased."""
    read = links.read_token(token)
    if read is None:
        return None
    contact_id, installation_id, source = read
    if installation_id != visitor.installation_id:
        return None
    contact = Contact.objects.filter(pk=contact_id, installation_id=installation_id).first()
    if contact is None:
        return None
    contact = merge.current(contact)
    if contact.erased_at is not None or contact.kind == ContactKind.ANONYMOUS:
        return None
    return identify(visitor, contact, source=source, now=now)


def identify_checkout(
    ctx: IngestContext, checkout: payloads.Checkout, contact: Contact | None
) -> Contact | None:
    """A checkout whose metadata carries the snippet's visitor id (``journeys_visitor_id``)
    and has an email identifies that visitor as the checkout's person. An unknown visitor id
    is ignored: visitors come from browsers, never from Saleor's data."""
    if contact is None or ctx.erased or contact.erased_at is not None:
        return None
    uid = next((item.value for item in checkout.metadata if item.key == VISITOR_METADATA_KEY), "")
    if not uid:
        return None
    visitor = Visitor.objects.filter(installation=ctx.installation, uid=uid.strip()).first()
    if visitor is None:
        return None
    # Identified when Saleor says the checkout changed; never later than now.
    return identify(visitor, contact, source="checkout", now=min(ctx.issued_at, ctx.now))

"""Rendering a template for staff, without a journey: for a real contact, or a sample one."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from saleor_journeys.contacts.models import Contact
from saleor_journeys.core import clock
from saleor_journeys.messaging import channels, context
from saleor_journeys.messaging.channels import Channel, Rendered, RenderError
from saleor_journeys.messaging.models import Message
from saleor_journeys.messaging.outbox import language_of
from saleor_journeys.saleor.models import Installation

SAMPLE_CART = {
    "token": "00000000-0000-0000-0000-000000000000",
    "lines": [
        {
            "name": "Grain-free dog food 12 kg",
            "variant": "",
            "quantity": 1,
            "price": "$54.90",
            "total": "$54.90",
            "image": "",
            "category": "Dog food",
        }
    ],
    "quantity": 1,
    "total": "$54.90",
    "currency": "USD",
}


def sample_contact(installation: Installation, language: str) -> Contact:
    """An unsaved contact for previews without a real one."""
    return Contact(
        installation=installation,
        email="sample@example.com",
        phone="+14155552671",
        first_name="Alex",
        last_name="Sample",
        language_code=language,
    )


def message_for(
    installation: Installation,
    contact: Contact,
    template: str,
    channel: Channel,
    language: str,
    *,
    marketing: bool,
) -> Message:
    return Message(
        installation=installation,
        contact=contact if contact.pk else None,
        key=f"test:{uuid.uuid4()}",
        channel=channel.name,
        template=template,
        language=language,
        marketing=marketing,
        created_at=clock.now(),
    )


def render(message: Message, contact: Contact, channel: Channel) -> Rendered:
    """Fill the message's content; raises RenderError with the reason."""
    data: dict[str, Any]
    if contact.pk:
        data = context.build(contact, language=message.language)
    else:
        data = context.build_sample(contact, language=message.language)
    if context.resolve(data.get("checkout")) is None:
        data["checkout"] = SAMPLE_CART
    if data.get("voucher") is None:
        data["voucher"] = {
            "code": "J-SAMPLE1234",
            "percent": Decimal(10),
            "expires": clock.now(),
        }
    if not channel.address(contact):
        raise RenderError(f"{contact.email or 'the contact'} has no {channel.name} address")
    rendered = channel.render(message, contact, data)
    rendered.fill(message)
    return rendered


def prepare(
    installation: Installation,
    template: str,
    contact: Contact,
    *,
    language: str | None,
    marketing: bool,
    channel: Channel | None = None,
) -> tuple[Message, Rendered]:
    """A message of ``template`` rendered for the contact (or a sample one), not saved;
    raises RenderError with the reason."""
    channel = channel or channel_of(installation, template)
    language = language or language_of(contact)
    message = message_for(installation, contact, template, channel, language, marketing=marketing)
    return message, render(message, contact, channel)


def channel_of(installation: Installation, template: str) -> Channel:
    from saleor_journeys.messaging import content

    for name in channels.names():
        if content.exists(installation, template, name):
            found = channels.get(name)
            assert found is not None
            return found
    raise RenderError(f"there is no template {template!r}")


def contact_or_sample(
    installation: Installation, email: str | None, language: str | None
) -> Contact:
    from django.core.management.base import CommandError

    from saleor_journeys.contacts.identity import normalise_email

    if not email:
        return sample_contact(installation, language or "en")
    address = normalise_email(email)
    contact = Contact.objects.filter(installation=installation, email=address).first()
    if contact is None:
        raise CommandError(f"no contact {email} in {installation.saleor_api_url}")
    return contact

"""Finding and updating the contact a Saleor payload is about."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from saleor_journeys.contacts.models import Contact, Erasure
from saleor_journeys.runtime.context import IngestContext
from saleor_journeys.triggers import payloads


def normalise_email(value: str | None) -> str | None:
    email = (value or "").strip().lower()
    return email if "@" in email else None


def email_sha256(email: str) -> str:
    return hashlib.sha256(email.encode("utf-8")).hexdigest()


def normalise_language(code: str | None) -> str:
    """Saleor's ``EN_US`` / ``ES`` as a BCP 47 tag: ``en-us`` / ``es``."""
    return (code or "").strip().lower().replace("_", "-")


def is_erased(ctx: IngestContext, *, saleor_user_id: str = "", email: str | None = None) -> bool:
    """True when the person was erased by a deletion issued after this delivery."""
    match = Q()
    if saleor_user_id:
        match |= Q(saleor_user_id=saleor_user_id)
    if email:
        match |= Q(email_sha256=email_sha256(email))
    if not match:
        return False
    return Erasure.objects.filter(
        match, installation=ctx.installation, issued_at__gte=ctx.issued_at
    ).exists()


def find(
    ctx: IngestContext, *, saleor_user_id: str = "", email: str | None = None
) -> Contact | None:
    """The contact with this Saleor user id, else with this email; locked for update."""
    contacts = Contact.objects.select_for_update().filter(installation=ctx.installation)
    if saleor_user_id:
        contact = contacts.filter(saleor_user_id=saleor_user_id).first()
        if contact is not None:
            return contact
    if email:
        return contacts.filter(email=email).first()
    return None


def _create(ctx: IngestContext, **fields: Any) -> Contact:
    try:
        with transaction.atomic():
            return Contact.objects.create(installation=ctx.installation, **fields)
    except IntegrityError:
        # Another worker created the same person a moment ago: use theirs.
        contact = find(ctx, saleor_user_id=fields.get("saleor_user_id", ""), email=fields["email"])
        if contact is None:
            raise
        return contact


def _fill_blanks(contact: Contact, address: payloads.Address | None, language: str = "") -> bool:
    """Copy what an address tells into the fields the contact does not know yet."""
    changed = False
    values = {"language_code": language}
    if address is not None:
        values |= {
            "first_name": address.first_name or "",
            "last_name": address.last_name or "",
            "phone": address.phone or "",
            "city": (address.city or "").title(),
            "country": address.country.code if address.country else "",
        }
    for field, value in values.items():
        if value and not getattr(contact, field):
            setattr(contact, field, value)
            changed = True
    return changed


def upsert_from_user(ctx: IngestContext, user: payloads.User) -> Contact | None:
    """Create or update the contact of a Saleor customer account.

    Profile fields only change when the payload's ``updatedAt`` is not older than the newest one
    applied, so a late delivery cannot undo a newer change.
    """
    email = normalise_email(user.email)
    if is_erased(ctx, saleor_user_id=user.id, email=email):
        ctx.erased = True
        return None
    contact = find(ctx, saleor_user_id=user.id, email=email)
    if contact is None:
        if email is None:
            return None
        contact = _create(ctx, email=email, saleor_user_id=user.id)
    if (
        contact.saleor_updated_at
        and user.updated_at
        and user.updated_at < contact.saleor_updated_at
    ):
        return contact

    address = user.default_billing_address or user.default_shipping_address
    contact.saleor_user_id = user.id
    if email and email != contact.email and not _email_taken(ctx, email, contact):
        contact.email = email
    contact.first_name = user.first_name or contact.first_name
    contact.last_name = user.last_name or contact.last_name
    contact.language_code = normalise_language(user.language_code) or contact.language_code
    if address is not None:
        contact.phone = address.phone or contact.phone
        contact.city = (address.city or "").title() or contact.city
        contact.country = (address.country.code if address.country else "") or contact.country
    contact.properties = {
        **contact.properties,
        "is_active": user.is_active,
        "is_confirmed": user.is_confirmed,
        "date_joined": user.date_joined.isoformat() if user.date_joined else None,
        "metadata": {item.key: item.value for item in user.metadata},
    }
    contact.saleor_updated_at = user.updated_at or contact.saleor_updated_at
    contact.save()
    return contact


def _email_taken(ctx: IngestContext, email: str, contact: Contact) -> bool:
    return (
        Contact.objects.filter(installation=ctx.installation, email=email)
        .exclude(pk=contact.pk)
        .exists()
    )


def upsert_from_purchase(
    ctx: IngestContext,
    *,
    email: str | None,
    user: payloads.UserRef | None,
    address: payloads.Address | None,
    language: str | None,
) -> Contact | None:
    """Create or complete the contact behind a checkout or an order.

    Checkouts and orders only fill fields the contact does not have: the account's own
    payloads are the authority on names and language.
    """
    # A checkout or order attached to an account belongs to that account's person, even when
    # staff typed another address into it.
    account_email = normalise_email(user.email if user else None)
    email = account_email or normalise_email(email)
    user_id = user.id if user and account_email else ""
    if email is None and not user_id:
        return None
    if is_erased(ctx, saleor_user_id=user_id, email=email):
        ctx.erased = True
        return None
    contact = find(ctx, saleor_user_id=user_id, email=email)
    if contact is None:
        if email is None:
            return None
        contact = _create(ctx, email=email, saleor_user_id=user_id)
    changed = _fill_blanks(contact, address, normalise_language(language))
    if user is not None and user_id:
        names = payloads.Address(first_name=user.first_name, last_name=user.last_name)
        changed = _fill_blanks(contact, names) or changed
        if not contact.saleor_user_id:
            contact.saleor_user_id = user.id
            changed = True
    if changed:
        contact.save()
    return contact

"""Signed links a message carries for its contact: unsubscribe (one click, RFC 8058), the
preference page, and the double opt-in confirmation (single use, expiring)."""

from __future__ import annotations

from django.core import signing
from django.urls import reverse

from saleor_journeys import conf

_UNSUBSCRIBE = "saleor_journeys.unsubscribe"
_OPT_IN = "saleor_journeys.opt_in"


def base_url() -> str:
    return (conf.get("PUBLIC_URL") or "http://localhost:8000").rstrip("/")


def unsubscribe_token(contact_id: int, channel: str, message_id: int | None) -> str:
    return signing.dumps([contact_id, channel, message_id], salt=_UNSUBSCRIBE, compress=True)


def read_unsubscribe(token: str) -> tuple[int, str, int | None]:
    """Raises ``signing.BadSignature``."""
    contact_id, channel, message_id = signing.loads(token, salt=_UNSUBSCRIBE)
    return int(contact_id), str(channel), message_id


def unsubscribe_url(contact_id: int, channel: str, message_id: int | None) -> str:
    token = unsubscribe_token(contact_id, channel, message_id)
    return base_url() + reverse("saleor_journeys:unsubscribe", args=[token])


def opt_in_token(contact_id: int, requested_at: str) -> str:
    """Bound to the request's time: once confirmed (the consent changes) it is spent."""
    return signing.TimestampSigner(salt=_OPT_IN).sign_object([contact_id, requested_at])


def read_opt_in(token: str) -> tuple[int, str]:
    """Raises ``signing.SignatureExpired`` or ``signing.BadSignature``."""
    contact_id, requested_at = signing.TimestampSigner(salt=_OPT_IN).unsign_object(
        token, max_age=conf.get("OPT_IN_TOKEN_MAX_AGE")
    )
    return int(contact_id), str(requested_at)


def opt_in_url(contact_id: int, requested_at: str) -> str:
    token = opt_in_token(contact_id, requested_at)
    return base_url() + reverse("saleor_journeys:opt-in", args=[token])

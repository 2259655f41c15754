"""The email channel: Django's email backend, so SMTP or any django-anymail provider, chosen by
the ``EMAIL_URL`` (``EMAIL_BACKEND``) setting."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from saleor_journeys import conf
from saleor_journeys.contacts.models import Contact
from saleor_journeys.messaging import channels, content, links, tracking
from saleor_journeys.messaging.channels import Capabilities, Rendered, SendError
from saleor_journeys.messaging.models import Message


class EmailChannel:
    name = "email"
    capabilities = Capabilities(tracking=True, quiet_hours=False, needs_explicit_consent=False)

    def address(self, contact: Contact) -> str | None:
        return contact.email or None

    def render(self, message: Message, contact: Contact, context: dict[str, Any]) -> Rendered:
        unsubscribe = links.unsubscribe_url(contact.pk, "email", message.pk)
        context = {**context, "unsubscribe_url": unsubscribe, "preferences_url": unsubscribe}
        result = content.render(
            installation=contact.installation,
            name=message.template,
            channel="email",
            language=message.language,
            context=context,
        )
        html = result.html
        if html and message.marketing:
            html = tracking.track_html(html, message, links.base_url())
        return Rendered(
            to=contact.email or "",
            subject=result.subject,
            text=result.text,
            html=html,
            language=result.language,
            preheader=result.preheader,
        )

    def headers(self, message: Message) -> dict[str, str]:
        domain = (conf.get("PUBLIC_URL") or "http://journeys.localhost").split("/")[2].split(":")[0]
        digest = hashlib.sha256(message.key.encode()).hexdigest()[:32]
        headers = {"Message-ID": f"<{digest}@{domain}>", "Journeys-Message": message.key}
        if message.marketing and message.contact_id is not None:
            url = links.unsubscribe_url(message.contact_id, "email", message.pk)
            headers["List-Unsubscribe"] = f"<{url}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return headers

    def build(self, message: Message) -> EmailMultiAlternatives:
        """The MIME message exactly as it is handed over (``preview --format eml`` prints it)."""
        sender = conf.get("EMAIL_FROM") or settings.DEFAULT_FROM_EMAIL
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            from_email=sender,
            to=[message.to],
            headers=self.headers(message),
        )
        if message.html:
            email.attach_alternative(message.html, "text/html")
        return email

    def send(self, message: Message) -> str:
        email = self.build(message)
        try:
            sent = _connection().send_messages([email])
        except OSError as exc:  # SMTP down, refused, timed out, an idle connection dropped
            close_connection()
            raise SendError(f"the mail server did not take it: {exc}", retry=True) from exc
        except Exception as exc:
            close_connection()
            raise _anymail_error(exc) from exc
        if not sent:
            raise SendError("the email backend did not send it", retry=True)
        status = getattr(email, "anymail_status", None)
        provider_id = getattr(status, "message_id", None) if status is not None else None
        return str(provider_id or email.extra_headers["Message-ID"])


_local = threading.local()


def _settings_key() -> tuple[object, ...]:
    return tuple(
        getattr(settings, name, None)
        for name in ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "ANYMAIL")
    )


def _connection() -> Any:
    """One open connection per worker thread, reused from message to message: an SMTP
    handshake (TLS, AUTH) per email would cost more than the email."""
    key = _settings_key()
    cached = getattr(_local, "connection", None)
    if cached is None or cached[0] != key:
        close_connection()
        connection = get_connection()
        connection.open()
        _local.connection = (key, connection)
        return connection
    return cached[1]


def close_connection() -> None:
    cached = getattr(_local, "connection", None)
    _local.connection = None
    if cached is not None:
        with contextlib.suppress(Exception):  # it is being thrown away
            cached[1].close()


def _anymail_error(exc: Exception) -> SendError:
    from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused

    if isinstance(exc, AnymailRecipientsRefused):
        return SendError(f"the provider refused the address: {exc}", retry=False)
    if isinstance(exc, AnymailAPIError):
        status = getattr(exc, "status_code", None) or 0
        return SendError(f"the provider answered: {exc}", retry=status == 429 or status >= 500)
    return SendError(f"sending failed: {exc.__class__.__name__}: {exc}", retry=False)


channel = channels.register(EmailChannel())

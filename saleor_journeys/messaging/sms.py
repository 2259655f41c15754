"""The SMS channel, through Twilio.

The address is the contact's phone in E.164 (``phones``); the text is the template's ``sms``
version, with its encoding and segment count (``segments``) stored on the message. Sending is
one ``POST …/Messages.json`` with a status callback to ``/api/twilio/status``
(``twilio_views``), which later marks the message delivered or failed.

Whether an SMS may go (explicit consent, quiet hours, caps) is not decided here but in
``messaging.policy``; this module only knows how.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import requests
from django.urls import reverse
from twilio.base.exceptions import (  # type: ignore[import-untyped]
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.http_client import TwilioHttpClient  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

from saleor_journeys import conf
from saleor_journeys.messaging import channels, content, phones, segments
from saleor_journeys.messaging.channels import Capabilities, Rendered, RenderError, SendError

if TYPE_CHECKING:
    from saleor_journeys.contacts.models import Contact
    from saleor_journeys.messaging.models import Message

logger = logging.getLogger(__name__)

TIMEOUT = 15.0
"""Seconds to wait for Twilio's API (connecting, then each read)."""

MAX_LENGTH = 1600
"""The longest body Twilio accepts (characters); a longer one is refused with error 21617."""

_ERROR_PREFIX = "Unable to create record: "


def http_client() -> Any:
    """The HTTP client the Twilio client sends with. A factory, so that a host project (or a
    test) can replace it: a proxy, other timeouts, another host."""
    return TwilioHttpClient(timeout=TIMEOUT)


def status_callback_url() -> str | None:
    """Where Twilio reports delivery; None without ``PUBLIC_URL`` (no absolute URL to give)."""
    public = conf.get("PUBLIC_URL")
    if not public:
        return None
    return public.rstrip("/") + reverse("saleor_journeys:twilio-status")


def _not_configured() -> str | None:
    missing = [
        name
        for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM")
        if not conf.get(name)
    ]
    if not missing:
        return None
    return f"SMS is not configured: set {', '.join(missing)} in settings.SALEOR_JOURNEYS"


def _refused(status: int, code: Any, text: str) -> SendError:
    """A Twilio error answer: 429 and 5xx may pass on a later attempt, other 4xx never."""
    retry = status == 429 or status >= 500
    reason = text.removeprefix(_ERROR_PREFIX).strip() or f"HTTP {status}"
    detail = f"error {code}, HTTP {status}" if code and code != status else f"HTTP {status}"
    return SendError(f"Twilio refused the SMS ({detail}): {reason}", retry=retry)


class SmsChannel:
    name = "sms"
    capabilities = Capabilities(tracking=False, quiet_hours=True, needs_explicit_consent=True)

    def address_problem(self, contact: Contact) -> str:
        """Why the contact has no usable number ("+34 12 is too short")."""
        try:
            phones.for_contact(contact)
        except phones.PhoneError as exc:
            return str(exc)
        return "the contact has no phone number"

    def address(self, contact: Contact) -> str | None:
        return phones.address(contact)

    def render(self, message: Message, contact: Contact, context: dict[str, Any]) -> Rendered:
        try:
            to = phones.for_contact(contact)
        except phones.PhoneError as exc:
            raise RenderError(f"no SMS address: {exc}") from exc
        language = message.language or contact.language_code
        result = content.render(
            installation=contact.installation,
            name=message.template,
            channel=self.name,
            language=language,
            context=context,
        )
        text = result.text.strip()
        if not text:
            raise RenderError(f"the SMS template {message.template!r} renders to an empty text")
        if len(text) > MAX_LENGTH:
            raise RenderError(
                f"the SMS is {len(text)} characters long; Twilio sends at most {MAX_LENGTH}"
            )
        counted = segments.count(text)
        return Rendered(
            to=to,
            text=text,
            encoding=counted.encoding,
            segments=counted.segments,
            language=result.language,
        )

    def send(self, message: Message) -> str:
        problem = _not_configured()
        if problem:
            raise SendError(problem, retry=False)
        sender: str = conf.get("TWILIO_FROM")
        params: dict[str, Any] = {"to": message.to, "body": message.text}
        if sender.startswith("MG"):
            params["messaging_service_sid"] = sender
        else:
            params["from_"] = sender
        callback = status_callback_url()
        if callback:
            params["status_callback"] = callback
        client = Client(
            conf.get("TWILIO_ACCOUNT_SID"), conf.get("TWILIO_AUTH_TOKEN"), http_client=http_client()
        )
        try:
            created = client.messages.create(**params)
        except TwilioRestException as exc:
            raise _refused(exc.status, exc.code, str(exc.msg)) from exc
        except TwilioServiceException as exc:
            raise _refused(exc.status, exc.code, str(exc.detail or exc.title)) from exc
        except requests.RequestException as exc:
            # Not reached, or no answer in time: a later attempt may pass. (A read timeout can
            # hide an SMS Twilio took: the retry may then send it twice.)
            raise SendError(f"Twilio could not be reached: {exc}", retry=True) from exc
        except TwilioException as exc:
            raise SendError(f"Twilio client error: {exc}", retry=False) from exc
        sid = str(created.sid or "")
        if not sid:
            raise SendError("Twilio accepted the SMS but returned no message SID", retry=False)
        logger.info("SMS %s handed to Twilio as %s", message.pk, sid)
        return sid


channel = channels.register(SmsChannel())

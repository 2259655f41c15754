"""What email providers report about sent messages, through django-anymail's tracking webhooks
(``/anymail/<esp>/tracking/``, basic auth ``ANYMAIL["WEBHOOK_SECRET"]``).

Anymail checks each webhook and turns it into ``AnymailTrackingEvent``s; :func:`on_tracking`
(connected when the app is ready) finds the message by its ``provider_id`` and records the event
once, however often the provider delivers it. Then:

- ``delivered``: the message becomes ``delivered`` (never over a bounce or complaint);
- ``bounced`` (hard): ``bounced``, and the address is suppressed (reason ``bounce``); soft
  bounces (``deferred``, and bounces the provider itself calls soft) are recorded only;
- ``complained``: ``complained``, and the address is suppressed (reason ``complaint``);
- ``unsubscribed``: the contact's email consent becomes ``unsubscribed`` (source ``provider``);
- ``opened``/``clicked``: recorded with the same human/scanner rules as the app's own tracking;
  they count (``Message.opens``/``clicks``, the timeline) only when the app does not track that
  itself (``TRACK_OPENS``/``TRACK_CLICKS`` off), so that nothing is counted twice;
- anything else (``queued``, ``sent``, ``rejected``, …) is recorded only.

An event for a message the app does not know (another system sending through the same account,
or a deleted message) is logged and ignored.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from anymail.signals import EventType, tracking
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from saleor_journeys import conf
from saleor_journeys.core import clock
from saleor_journeys.messaging import tracking as own_tracking
from saleor_journeys.messaging.consent import set_consent
from saleor_journeys.messaging.models import (
    ConsentStatus,
    Message,
    MessageEvent,
    MessageStatus,
    Suppression,
)

logger = logging.getLogger(__name__)

SOFT_BOUNCED = "soft_bounced"
# Which statuses an event may move a message from: never back from a bounce or a complaint.
_HANDED_OVER = [MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.UNKNOWN]
_FROM = {
    MessageStatus.DELIVERED: _HANDED_OVER,
    MessageStatus.BOUNCED: [*_HANDED_OVER, MessageStatus.DELIVERED],
    MessageStatus.COMPLAINED: [*_HANDED_OVER, MessageStatus.DELIVERED, MessageStatus.BOUNCED],
}
# SparkPost bounce classes that are hard: invalid recipient, no RCPT.
_SPARKPOST_HARD = {"10", "30"}


@receiver(tracking, dispatch_uid="saleor_journeys.provider_events")
def on_tracking(sender: object, event: Any, esp_name: str, **kwargs: Any) -> None:
    """Receiver of ``anymail.signals.tracking``. An exception makes anymail answer 500, and the
    provider deliver the webhook again later."""
    provider_id = str(event.message_id or "")
    if not provider_id:
        logger.info("%s %s event without a message id ignored", esp_name, event.event_type)
        return
    ids = list(
        Message.objects.filter(provider_id=provider_id, channel="email").values_list(
            "pk", flat=True
        )
    )
    if not ids:
        logger.info(
            "%s %s event for unknown message %s ignored", esp_name, event.event_type, provider_id
        )
        return
    for message_id in ids:
        record(message_id, event, esp_name)


def provider_event_id(event: Any, esp_name: str) -> str:
    """The provider's id of the event, or a hash of what it sent when it gives none: the same
    webhook delivered twice has the same one."""
    if event.event_id:
        value = f"{esp_name}:{event.event_id}"
    else:
        raw = event.esp_event
        try:
            body = json.dumps(raw, sort_keys=True, default=str)
        except (TypeError, ValueError):
            body = repr(raw)
        digest = hashlib.sha256(f"{event.event_type}\n{body}".encode()).hexdigest()
        value = f"{esp_name}:sha256:{digest}"
    if len(value) > 255:
        value = f"{esp_name[:100]}:sha256:{hashlib.sha256(value.encode()).hexdigest()}"
    return value


def is_soft_bounce(event: Any, esp_name: str) -> bool:
    """A ``bounced`` event the provider itself calls temporary (anymail reports most of those
    as ``deferred`` already): it does not suppress the address."""
    raw = event.esp_event
    if not isinstance(raw, Mapping):
        return False
    esp = esp_name.lower()
    if esp == "postmark":
        return raw.get("RecordType") == "Bounce" and raw.get("Type") != "HardBounce"
    if esp == "sendgrid":
        return str(raw.get("type", "")).lower() == "blocked"
    if esp in ("brevo", "sendinblue"):
        return raw.get("event") == "soft_bounce"
    if esp == "mailersend":
        return str(raw.get("type", "")).endswith("soft_bounced")
    if esp == "mailjet":
        return raw.get("event") == "bounce" and not raw.get("hard_bounce", False)
    if esp == "amazon ses":
        bounce = raw.get("bounce")
        return isinstance(bounce, Mapping) and bounce.get("bounceType") != "Permanent"
    if esp == "sparkpost":
        for value in (raw.get("msys") or {}).values():
            if isinstance(value, Mapping) and "bounce_class" in value:
                return str(value["bounce_class"]) not in _SPARKPOST_HARD
    return False


def _data(event: Any, esp_name: str) -> dict[str, Any]:
    data: dict[str, Any] = {"source": "provider", "esp": esp_name, "event": event.event_type}
    for name in ("recipient", "reject_reason", "description", "mta_response"):
        value = getattr(event, name, None)
        if value:
            data[name] = str(value)[:1000]
    return data


def _at(event: Any) -> datetime:
    at = event.timestamp
    if not isinstance(at, datetime):
        return clock.now()
    return at if timezone.is_aware(at) else timezone.make_aware(at, UTC)


def record(message_id: int, event: Any, esp_name: str) -> None:
    event_type = event.event_type
    event_id = provider_event_id(event, esp_name)
    data = _data(event, esp_name)
    at = _at(event)
    if event_type in (EventType.OPENED, EventType.CLICKED):
        _engagement(message_id, event, event_id, data, at)
        return
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("contact", "run")
            .filter(pk=message_id)
            .first()
        )
        if message is None or message.events.filter(provider_event_id=event_id).exists():
            return  # gone, or this webhook was delivered before
        soft = event_type == EventType.BOUNCED and is_soft_bounce(event, esp_name)
        MessageEvent.objects.create(
            message=message,
            type=SOFT_BOUNCED if soft else str(event_type)[:32],
            at=at,
            url=(event.click_url or "")[:2048],
            user_agent=(event.user_agent or "")[:512],
            provider_event_id=event_id,
            data=data,
        )
        address = message.to or str(event.recipient or "").strip().lower()
        if event_type == EventType.DELIVERED:
            _move(message, MessageStatus.DELIVERED)
        elif event_type == EventType.BOUNCED and not soft:
            _move(message, MessageStatus.BOUNCED)
            _suppress(message, address, "bounce", at)
        elif event_type == EventType.COMPLAINED:
            _move(message, MessageStatus.COMPLAINED)
            _suppress(message, address, "complaint", at)
        elif event_type == EventType.UNSUBSCRIBED:
            contact = message.contact
            if contact is not None and contact.erased_at is None:
                set_consent(contact, "email", ConsentStatus.UNSUBSCRIBED, source="provider")
        own_tracking.settle_held_clicks(message)


def _engagement(
    message_id: int, event: Any, event_id: str, data: dict[str, Any], at: datetime
) -> None:
    """A provider's open or click: the app's own rules decide whether a person made it."""
    user_agent = str(event.user_agent or "")
    if event.event_type == EventType.OPENED:
        own_tracking.record_open(
            message_id,
            user_agent=user_agent,
            at=at,
            count=not conf.get("TRACK_OPENS"),
            data=data,
            provider_event_id=event_id,
        )
    else:
        own_tracking.record_click(
            message_id,
            str(event.click_url or ""),
            user_agent=user_agent,
            at=at,
            count=not conf.get("TRACK_CLICKS"),
            data=data,
            provider_event_id=event_id,
        )


def _move(message: Message, status: MessageStatus) -> None:
    if message.status in _FROM[status]:
        Message.objects.filter(pk=message.pk).update(status=status)
        message.status = status


def _suppress(message: Message, address: str, reason: str, at: datetime) -> None:
    if not address:
        return
    Suppression.objects.get_or_create(
        installation_id=message.installation_id,
        channel="email",
        address=address,
        defaults={"reason": reason, "at": at},
    )

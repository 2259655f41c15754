"""Whether a message may go now, for every journey, at the send boundary: consent, suppressions,
the frequency cap and quiet hours. Transactional messages skip consent, caps and quiet hours
(not suppressions of an address that bounced)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from saleor_journeys import conf
from saleor_journeys.contacts.models import Contact
from saleor_journeys.messaging.channels import Channel
from saleor_journeys.messaging.models import (
    Consent,
    ConsentStatus,
    Message,
    MessageStatus,
    Suppression,
)

_SENT = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.SENDING, MessageStatus.UNKNOWN)


@dataclass(frozen=True)
class Decision:
    go: bool
    reason: str = ""
    wait_until: datetime | None = None
    """Set when the message is not refused but must wait (quiet hours, the cap)."""


def consent(contact: Contact, channel: str) -> str:
    row = Consent.objects.filter(contact=contact, channel=channel).first()
    return row.status if row else ConsentStatus.UNKNOWN


def _zone(contact: Contact) -> ZoneInfo:
    try:
        return ZoneInfo(contact.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def quiet_until(contact: Contact, now: datetime) -> datetime | None:
    """The end of the quiet hours in the contact's zone if ``now`` is inside them."""
    span = conf.get("QUIET_HOURS")
    if not span:
        return None
    start, end = (time.fromisoformat(t) for t in span)
    local = now.astimezone(_zone(contact))
    clock = local.time()
    inside = start <= clock or clock < end if start > end else start <= clock < end
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    wake = datetime.combine(day, end, tzinfo=local.tzinfo)
    return wake.astimezone(now.tzinfo)


def decide(message: Message, contact: Contact, channel: Channel, now: datetime) -> Decision:
    if contact.erased_at is not None:
        return Decision(False, "the contact was erased")
    address = message.to
    if Suppression.objects.filter(
        installation_id=message.installation_id, channel=message.channel, address=address
    ).exists():
        return Decision(False, f"{address} is suppressed (an earlier bounce or complaint)")
    if not message.marketing:
        return Decision(True)
    status = consent(contact, message.channel)
    if status == ConsentStatus.UNSUBSCRIBED:
        return Decision(False, f"the contact unsubscribed from {message.channel}")
    if channel.capabilities.needs_explicit_consent and status != ConsentStatus.SUBSCRIBED:
        return Decision(False, f"no explicit {message.channel} consent")
    if (
        message.channel == "email"
        and conf.get("DOUBLE_OPT_IN")
        and status != ConsentStatus.SUBSCRIBED
    ):
        return Decision(False, "double opt-in is required and the address is not confirmed")
    cap = conf.get("FREQUENCY_CAP_HOURS")
    if cap:
        last = (
            Message.objects.filter(
                contact=contact,
                channel=message.channel,
                marketing=True,
                status__in=_SENT,
                sent_at__gt=now - timedelta(hours=cap),
            )
            .exclude(pk=message.pk)
            .order_by("-sent_at")
            .values_list("sent_at", flat=True)
            .first()
        )
        if last is not None:
            return Decision(False, "frequency cap", wait_until=last + timedelta(hours=cap))
    if channel.capabilities.quiet_hours:
        until = quiet_until(contact, now)
        if until is not None:
            return Decision(False, "quiet hours", wait_until=until)
    return Decision(True)

"""Choosing the on-site messages of a page view, and recording what the browser did with them.

For the last page view of a batch the collect endpoint asks ``messages_for``: first the
contact's journey messages queued on the ``web`` channel (``messaging.web``) whose
``url_pattern`` matches the page, then the shop's ``WebRule``s whose pattern matches, whose
conditions hold for the contact and whose daily cap is not reached (a rule's message becomes a
``Message`` row the moment it is chosen, so it is counted, tracked and shown in the contact's
messages like any other). A page gets at most one popup and one push prompt; banners and
frames may add to it. A message about a product the contact has bought is never shown: a
queued one is suppressed with the reason.

The browser reports what happened (``record_action``): ``shown`` makes the message
``delivered`` (a popup or push prompt is never shown again; a banner or frame stays until it is
dismissed, clicked or expired), ``clicked`` and ``dismissed`` are recorded; each is an event in
the contact's timeline (``web_message_shown`` / ``_clicked`` / ``_dismissed``) that journeys
can wait for.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urljoin, urlsplit

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from pydantic import TypeAdapter, ValidationError

from saleor_journeys import conf
from saleor_journeys.contacts.models import Contact
from saleor_journeys.events import log
from saleor_journeys.events.models import Event
from saleor_journeys.journeys.conditions import Condition
from saleor_journeys.journeys.evaluate import holds
from saleor_journeys.journeys.facts import EventFact, Facts
from saleor_journeys.messaging import channels, content, context, policy
from saleor_journeys.messaging.channels import RenderError
from saleor_journeys.messaging.models import (
    ConsentStatus,
    Message,
    MessageEvent,
    MessageStatus,
)
from saleor_journeys.messaging.outbox import language_of
from saleor_journeys.runtime.runs import EVENT_HORIZON, contact_facts
from saleor_journeys.web import activity
from saleor_journeys.web.models import WebRule

logger = logging.getLogger(__name__)

CHANNEL = "web"
# Kinds that take the whole page: one of each per page, and never shown twice.
MODAL_KINDS = ("popup", "push_prompt")
FRAME_PRODUCTS = 4
# How many of the contact's latest page views a recommendation frame looks through.
RECENT_VIEWS = 200
RULE_PREFIX = "rule:"
ACTIONS = {
    "shown": "web_message_shown",
    "clicked": "web_message_clicked",
    "dismissed": "web_message_dismissed",
}
# The ``MessageEvent`` type of each action (``click`` as for email, so the counts compare).
_MESSAGE_EVENTS = {"shown": "shown", "clicked": "click", "dismissed": "dismissed"}
BOUGHT = "the contact has bought the product it is about"

_CONDITION: TypeAdapter[Any] = TypeAdapter(Condition)


# --- choosing ---------------------------------------------------------------------------------


class _Choice:
    """What one page view has taken so far, and what it knows about the contact (each read
    once, when first needed)."""

    def __init__(self, contact: Contact, page: Mapping[str, Any], now: datetime) -> None:
        self.contact, self.page, self.now = contact, page, now
        self.path = activity.path_of(page)
        self.chosen: list[Message] = []
        self.modal: set[str] = set()
        self._bought: set[str] | None = None
        self._facts: Facts | None = None
        self._products: list[dict[str, str]] | None = None

    @property
    def bought(self) -> set[str]:
        if self._bought is None:
            self._bought = activity.bought_products(self.contact)
        return self._bought

    @property
    def facts(self) -> Facts:
        if self._facts is None:
            self._facts = contact_facts(self.contact, self.now, since=self.now - EVENT_HORIZON)
        return self._facts

    @property
    def products(self) -> list[dict[str, str]]:
        if self._products is None:
            self._products = _recent_products(self.contact, self.page, self.bought)
        return self._products

    def fits(self, kind: str) -> bool:
        if kind in MODAL_KINDS and kind in self.modal:
            return False
        return kind != "frame" or bool(self.products)

    def take(self, message: Message) -> None:
        kind = str(message.data.get("kind", ""))
        if kind in MODAL_KINDS:
            self.modal.add(kind)
        self.chosen.append(message)


def messages_for(
    contact: Contact, page: dict[str, Any] | None, *, now: datetime
) -> list[dict[str, Any]]:
    """The on-site messages to show on ``page`` (the stored ``page_viewed`` data: ``url``,
    ``path``, ``product``, ``category``), in order, as the collect answer lists them. No page
    view, an erased contact or a refused ``web`` consent: none."""
    if page is None or contact.pk is None or contact.erased_at is not None:
        return []
    if policy.consent(contact, CHANNEL) == ConsentStatus.UNSUBSCRIBED:
        return []
    choice = _Choice(contact, page, now)
    _queued(choice)
    _rules(choice)
    return [_answer(message, choice) for message in choice.chosen]


def _matches(pattern: str, path: str) -> bool:
    return not pattern or fnmatchcase(path, pattern)


def _expired(message: Message, now: datetime) -> bool:
    expires = message.data.get("expires_at")
    try:
        return bool(expires) and datetime.fromisoformat(str(expires)) <= now
    except ValueError:
        return False


def _queued(choice: _Choice) -> None:
    """The contact's journey messages waiting for a page view, oldest first."""
    ttl = timedelta(seconds=conf.get("WEB_MESSAGE_TTL"))
    closed = MessageEvent.objects.filter(message=OuterRef("pk"), type__in=("click", "dismissed"))
    queued = (
        Message.objects.filter(
            contact=choice.contact,
            channel=CHANNEL,
            status__in=(MessageStatus.SENT, MessageStatus.DELIVERED),
            sent_at__gt=choice.now - ttl,
        )
        .exclude(key__startswith=RULE_PREFIX)
        .annotate(closed=Exists(closed))
        .order_by("sent_at", "pk")
    )
    for message in queued:
        kind = str(message.data.get("kind", ""))
        shown = message.status == MessageStatus.DELIVERED
        if getattr(message, "closed", False) or (shown and kind in MODAL_KINDS):
            continue
        if _expired(message, choice.now):
            continue
        product_id = message.data.get("product_id")
        if product_id and product_id in choice.bought:
            message.status, message.error = MessageStatus.SUPPRESSED, BOUGHT
            message.save(update_fields=["status", "error"])
            continue
        if _matches(str(message.data.get("url_pattern") or ""), choice.path) and choice.fits(kind):
            choice.take(message)


def _rules(choice: _Choice) -> None:
    """The shop's rules for this page, highest priority first."""
    contact = choice.contact
    rules = WebRule.objects.filter(installation_id=contact.installation_id, active=True).order_by(
        "-priority", "pk"
    )
    language = language_of(contact)
    day = choice.now.date().isoformat()
    for rule in rules:
        if not _matches(rule.url_pattern, choice.path):
            continue
        try:
            fields = content.source(contact.installation, rule.template, CHANNEL, language).fields
        except RenderError:
            logger.warning("Web rule %s names no web template %r", rule.pk, rule.template)
            continue
        if not choice.fits(fields.get("kind", "").strip()):
            continue
        prefix = f"{RULE_PREFIX}{rule.pk}:{contact.pk}:{day}:"
        shown_today = Message.objects.filter(key__startswith=prefix).count()
        if rule.cap_per_day and shown_today >= rule.cap_per_day:
            continue
        if not _holds(rule, choice):
            continue
        message = _rule_message(rule, choice, f"{prefix}{shown_today + 1}", language)
        if message is not None:
            choice.take(message)


def _holds(rule: WebRule, choice: _Choice) -> bool:
    if not rule.conditions:
        return True
    try:
        condition = _CONDITION.validate_python(rule.conditions)
    except ValidationError:
        logger.warning("Web rule %s has conditions that are not valid; it is skipped", rule.pk)
        return False
    page = EventFact(activity.PAGE_VIEWED, choice.now, choice.page)
    return holds(condition, choice.facts, event=page, now=choice.now, entered_at=choice.now)


def _rule_message(rule: WebRule, choice: _Choice, key: str, language: str) -> Message | None:
    """The rule's message for this contact and page, rendered and stored as queued; None when
    it cannot be rendered, is about a bought product, or another request took the key."""
    contact, now = choice.contact, choice.now
    channel = channels.get(CHANNEL)
    assert channel is not None
    message = Message(
        installation_id=contact.installation_id,
        contact=contact,
        key=key,
        channel=CHANNEL,
        template=rule.template,
        language=language,
        marketing=True,
        created_at=now,
    )
    data = context.build(contact, language=language)
    data["product"] = activity.product_of(choice.page)
    data["page"] = {
        "url": str(choice.page.get("url") or ""),
        "path": choice.path,
        "title": str(choice.page.get("title") or ""),
    }
    try:
        rendered = channel.render(message, contact, data)
    except RenderError as exc:
        logger.warning("Web rule %s cannot be shown to contact %s: %s", rule.pk, contact.pk, exc)
        return None
    product_id = message.data.get("product_id")
    if product_id and product_id in choice.bought:
        return None
    rendered.fill(message)
    expires = now + timedelta(seconds=conf.get("WEB_MESSAGE_TTL"))
    message.data["expires_at"] = expires.isoformat()
    message.data["rule"] = rule.pk
    message.status, message.sent_at = MessageStatus.SENT, now
    message.provider_id = f"rule:{rule.pk}"
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        return None  # the same impression was just made for another page view of theirs
    return message


def _recent_products(
    contact: Contact, page: Mapping[str, Any], bought: set[str]
) -> list[dict[str, str]]:
    """Products the contact looked at lately, newest first: not the one on this page, none
    they bought, at most ``FRAME_PRODUCTS``."""
    here = activity.product_of(page)
    seen = {here["id"]} if here else set()
    products = []
    views = (
        Event.objects.filter(contact=contact, type=activity.PAGE_VIEWED)
        .order_by("-occurred_at")
        .values_list("data", flat=True)[:RECENT_VIEWS]
    )
    for data in views:
        product = activity.product_of(data) if isinstance(data, dict) else None
        if product is None or product["id"] in seen or product["id"] in bought:
            continue
        seen.add(product["id"])
        products.append(
            {
                "id": product["id"],
                "name": product["name"],
                "image": _url(product["image"], ""),
                "url": _url(product["url"], ""),
                "price": product["price"],
                "currency": product["currency"],
            }
        )
        if len(products) == FRAME_PRODUCTS:
            break
    return products


def _url(value: str, base: str) -> str:
    """An absolute http(s) URL (a path is taken relative to the page), or empty."""
    if value.startswith("/") and not value.startswith("//") and base:
        value = urljoin(base, value)
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    return value if parts.scheme in ("http", "https") and parts.hostname else ""


def _answer(message: Message, choice: _Choice) -> dict[str, Any]:
    """A message as the collect answer carries it: plain text and http(s) URLs only."""
    data = message.data
    base = str(choice.page.get("url") or "")
    cta = data.get("cta") if isinstance(data.get("cta"), dict) else {}
    label, url = str(cta.get("label") or ""), _url(str(cta.get("url") or ""), base)
    kind = str(data.get("kind", ""))
    return {
        "id": message.pk,
        "kind": kind,
        "title": str(data.get("title") or ""),
        "body": str(data.get("body") or ""),
        "image": _url(str(data.get("image") or ""), base),
        # A push prompt's button asks the browser for the permission: it needs no URL.
        "cta": {"label": label, "url": url} if label and (url or kind == "push_prompt") else None,
        "products": choice.products if kind == "frame" else [],
        "slot": str(data.get("slot") or ""),
    }


# --- what the browser did ---------------------------------------------------------------------


def record_action(
    contact: Contact, message_id: int, action: str, *, now: datetime, event_id: str = ""
) -> bool:
    """Record ``shown``, ``clicked`` or ``dismissed`` for one of the contact's web messages;
    False (and nothing changes) for another contact's message, another channel's, an unknown
    id or action. ``event_id``, the browser's id of the report, makes a report sent twice (a
    retried beacon) count once."""
    if action not in ACTIONS:
        return False
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("run")
            .filter(pk=message_id, contact=contact, channel=CHANNEL)
            .first()
        )
        if message is None:
            return False
        kind = _MESSAGE_EVENTS[action]
        if event_id and message.events.filter(provider_event_id=event_id[:255]).exists():
            return True  # this very report was recorded already
        before = MessageEvent.objects.filter(message=message, type=kind).exists()
        if action != "clicked" and before:
            return True  # shown or dismissed once is enough
        if action != "dismissed" and message.status == MessageStatus.SENT:
            message.status = MessageStatus.DELIVERED  # a click on it means it was shown too
            message.save(update_fields=["status"])
        number = 1
        url = ""
        if action == "clicked":
            Message.objects.filter(pk=message.pk).update(clicks=F("clicks") + 1)
            message.refresh_from_db(fields=["clicks"])
            number = message.clicks
            cta = message.data.get("cta")
            url = str(cta.get("url") or "")[:2048] if isinstance(cta, dict) else ""
        MessageEvent.objects.create(
            message=message, type=kind, at=now, url=url, provider_event_id=event_id[:255]
        )
        log.record(
            installation_id=message.installation_id,
            contact=contact,
            type=ACTIONS[action],
            source=CHANNEL,
            key=f"web-message:{message.pk}:{action}:{number}",
            occurred_at=now,
            received_at=now,
            data={
                "message": message.pk,
                "template": message.template,
                "kind": str(message.data.get("kind", "")),
                "journey": message.run.journey_id if message.run is not None else None,
            },
        )
    return True

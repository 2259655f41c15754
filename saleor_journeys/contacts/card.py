"""What the contact card shows beyond the contact's own fields: consent per channel, interests,
what the person is looking at now, their browsers, and one timeline of everything.

Plain data read from the models, a fixed number of queries each, for the API to present.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, Max, Prefetch, Q, QuerySet, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce

from saleor_journeys.commerce.models import OrderLine
from saleor_journeys.contacts.models import Contact
from saleor_journeys.events.models import Event
from saleor_journeys.events.summaries import summarise
from saleor_journeys.messaging.models import Consent, ConsentStatus, Message, MessageEvent
from saleor_journeys.messaging.models import MessageStatus as S
from saleor_journeys.runtime.runs import VOID_ORDER_STATUSES
from saleor_journeys.web.models import Visitor

# --- consent ----------------------------------------------------------------------------------

CONSENT_CHANNELS = ("email", "sms", "web", "push")


@dataclass(frozen=True)
class ChannelConsent:
    channel: str
    status: str
    source: str = ""
    updated_at: datetime | None = None


def consents(contact: Contact) -> list[ChannelConsent]:
    """One entry per channel, ``unknown`` where the person never decided (no row)."""
    rows = {row.channel: row for row in Consent.objects.filter(contact=contact)}
    channels = [*CONSENT_CHANNELS, *sorted(set(rows) - set(CONSENT_CHANNELS))]
    return [
        ChannelConsent(name, row.status, row.source, row.at)
        if (row := rows.get(name)) is not None
        else ChannelConsent(name, ConsentStatus.UNKNOWN.value)
        for name in channels
    ]


# --- interests --------------------------------------------------------------------------------

# Views older than this no longer say what someone is interested in; purchases always do.
VIEW_WINDOW = timedelta(days=90)
# One order with a category says more than one page view of it.
PURCHASE_WEIGHT = 3


@dataclass
class Interest:
    category_id: str
    name: str
    views: int = 0
    purchases: int = 0
    last_at: datetime | None = None

    @property
    def weight(self) -> float:
        return float(self.views + PURCHASE_WEIGHT * self.purchases)

    def add(self, name: str, at: datetime | None, *, views: int = 0, purchases: int = 0) -> None:
        self.views += views
        self.purchases += purchases
        self.name = self.name or name
        if at is not None and (self.last_at is None or at >= self.last_at):
            # The newest name wins: a category renamed in the shop shows its current name.
            self.name = name or self.name
            self.last_at = at


def interests(contact: Contact, now: datetime) -> list[Interest]:
    """Categories the person viewed (``page_viewed`` events of the last ``VIEW_WINDOW``) or
    bought (lines of their orders, void orders aside), heaviest first: one point per view,
    ``PURCHASE_WEIGHT`` per order. One query for each."""
    found: dict[str, Interest] = {}

    def entry(category_id: str) -> Interest:
        return found.setdefault(category_id, Interest(category_id, ""))

    viewed = (
        Event.objects.filter(
            contact=contact, type="page_viewed", occurred_at__gte=now - VIEW_WINDOW
        )
        .annotate(category_id=KT("data__category__id"), category_name=KT("data__category__name"))
        .exclude(Q(category_id__isnull=True) | Q(category_id=""))
        .values("category_id", "category_name")
        .annotate(count=Count("pk"), last=Max("occurred_at"))
    )
    for row in viewed:
        entry(row["category_id"]).add(row["category_name"] or "", row["last"], views=row["count"])
    bought = (
        OrderLine.objects.filter(order__contact=contact)
        .exclude(category_id="")
        .exclude(order__status__in=VOID_ORDER_STATUSES)
        .values("category_id", "category_name")
        .annotate(count=Count("order", distinct=True), last=Max("order__created_at"))
    )
    for row in bought:
        entry(row["category_id"]).add(row["category_name"], row["last"], purchases=row["count"])
    return sorted(
        found.values(),
        key=lambda i: (-i.weight, -(i.last_at.timestamp() if i.last_at else 0), i.name),
    )


# --- what they look at now --------------------------------------------------------------------


@dataclass(frozen=True)
class PageView:
    url: str
    title: str
    referrer: str
    at: datetime
    product: dict[str, Any] | None = None
    variant: dict[str, Any] | None = None
    category: dict[str, Any] | None = None


def _item(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) and value.get("id") else None


def current_interest(contact: Contact) -> PageView | None:
    """The person's latest page view, however old: its time says how current it is."""
    event = (
        Event.objects.filter(contact=contact, type="page_viewed")
        .order_by("-occurred_at", "-pk")
        .first()
    )
    if event is None:
        return None
    data = event.data or {}
    return PageView(
        url=str(data.get("url") or ""),
        title=str(data.get("title") or ""),
        referrer=str(data.get("referrer") or ""),
        at=event.occurred_at,
        product=_item(data.get("product")),
        variant=_item(data.get("variant")),
        category=_item(data.get("category")),
    )


# --- browsers ---------------------------------------------------------------------------------


def visitors(contact: Contact, limit: int) -> QuerySet[Visitor]:
    """The browsers known to be the person's, most recently seen first."""
    return Visitor.objects.filter(contact=contact).order_by("-last_seen_at", "-pk")[:limit]


# --- the timeline -----------------------------------------------------------------------------

VISIT, SALEOR, MESSAGE, ENGAGEMENT, OTHER = "visit", "saleor", "message", "engagement", "other"
KINDS = (VISIT, SALEOR, MESSAGE, ENGAGEMENT, OTHER)
# An event is of the first kind its type matches (by name, or by prefix); else SALEOR or OTHER
# by its source.
_VISIT_TYPES, _VISIT_PREFIX = ("page_viewed", "page_engaged"), "custom."
_ENGAGEMENT_TYPES = ("email_opened", "email_clicked", "push_clicked")
_ENGAGEMENT_PREFIX = "web_message_"
_VISIT = Q(type__in=_VISIT_TYPES) | Q(type__startswith=_VISIT_PREFIX)
_ENGAGEMENT = Q(type__in=_ENGAGEMENT_TYPES) | Q(type__startswith=_ENGAGEMENT_PREFIX)
_SALEOR = Q(source="saleor")
# A message is on the timeline once something became of it; one still waiting to go is not.
_WAITING = (S.PENDING, S.DEFERRED, S.SENDING)


def kind_of(event: Event) -> str:
    """The same classification as the filters of ``Timeline``."""
    if event.type in _VISIT_TYPES or event.type.startswith(_VISIT_PREFIX):
        return VISIT
    if event.type in _ENGAGEMENT_TYPES or event.type.startswith(_ENGAGEMENT_PREFIX):
        return ENGAGEMENT
    return SALEOR if event.source == "saleor" else OTHER


_FILTERS = {
    VISIT: _VISIT,
    ENGAGEMENT: _ENGAGEMENT,
    SALEOR: _SALEOR & ~_VISIT & ~_ENGAGEMENT,
    OTHER: ~_VISIT & ~_ENGAGEMENT & ~_SALEOR,
}


def _event_filter(kinds: Collection[str]) -> Q | None:
    wanted = [_FILTERS[kind] for kind in KINDS if kind in kinds and kind in _FILTERS]
    if not wanted:
        return None
    result = wanted[0]
    for part in wanted[1:]:
        result |= part
    return result


_LABELS = {"email": "Email", "sms": "SMS", "web": "On-site message", "push": "Push notification"}
_OUTCOMES: dict[str, str] = {
    S.SENT: "sent",
    S.DELIVERED: "delivered",
    S.BOUNCED: "bounced",
    S.COMPLAINED: "reported as spam",
    S.FAILED: "failed",
    S.SUPPRESSED: "not sent",
    S.UNKNOWN: "interrupted while sending, maybe sent",
}


def message_summary(message: Message) -> str:
    label = _LABELS.get(message.channel, message.channel.capitalize())
    subject = f" “{message.subject}”" if message.subject else ""
    outcome = _OUTCOMES.get(message.status, message.status)
    reason = (
        f": {message.error}" if message.error and message.status in (S.FAILED, S.SUPPRESSED) else ""
    )
    return f"{label} {message.template}{subject} {outcome}{reason}"


@dataclass(frozen=True)
class TimelineEntry:
    kind: str
    type: str
    source: str
    occurred_at: datetime
    received_at: datetime
    data: dict[str, Any]
    superseded: bool
    summary: str
    event: Event | None = None
    message: Message | None = field(default=None, repr=False)


def _event_entry(event: Event) -> TimelineEntry:
    return TimelineEntry(
        kind=kind_of(event),
        type=event.type,
        source=event.source,
        occurred_at=event.occurred_at,
        received_at=event.received_at,
        data=event.data or {},
        superseded=event.superseded,
        summary=summarise(event),
        event=event,
    )


def _message_entry(message: Message) -> TimelineEntry:
    at = message.sent_at or message.created_at
    return TimelineEntry(
        kind=MESSAGE,
        type=f"message_{message.status}",
        source=message.channel,
        occurred_at=at,
        received_at=at,
        data={
            "message": message.pk,
            "channel": message.channel,
            "template": message.template,
            "status": message.status,
            "subject": message.subject,
            "error": message.error,
            "journey": message.run.journey.slug if message.run is not None else None,
            "node": message.node,
        },
        superseded=False,
        summary=message_summary(message),
        message=message,
    )


class Timeline:
    """A contact's events and messages as one list, newest first, read a page at a time.

    Messages are not copied into the event log (they have their own rows, whose status changes
    after the fact); the database sorts the union of both tables and returns only the page
    asked for, so any page costs three queries however long the history. Sliced like a list
    (non-negative bounds), which is what the GraphQL connection does.
    """

    def __init__(
        self,
        contact: Contact,
        kinds: Collection[str] = KINDS,
        start: int = 0,
        stop: int | None = None,
    ) -> None:
        self.contact, self.kinds, self.start, self.stop = contact, tuple(kinds), start, stop

    def _rows(self) -> QuerySet[Any] | None:
        columns = ("entry_at", "entry_table", "entry_pk")
        parts: list[QuerySet[Any]] = []
        events = _event_filter(self.kinds)
        if events is not None:
            parts.append(
                Event.objects.filter(events, contact=self.contact)
                .annotate(entry_at=F("occurred_at"), entry_table=Value("event"), entry_pk=F("pk"))
                .values_list(*columns)
            )
        if MESSAGE in self.kinds:
            parts.append(
                Message.objects.filter(contact=self.contact)
                .exclude(status__in=_WAITING)
                .annotate(
                    entry_at=Coalesce("sent_at", "created_at"),
                    entry_table=Value("message"),
                    entry_pk=F("pk"),
                )
                .values_list(*columns)
            )
        if not parts:
            return None
        rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        return rows.order_by("-entry_at", "entry_table", "-entry_pk")

    def __len__(self) -> int:
        rows = self._rows()
        total = rows.count() if rows is not None else 0
        stop = total if self.stop is None else min(self.stop, total)
        return max(stop - self.start, 0)

    def __getitem__(self, index: slice) -> Timeline:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("a timeline is read by slices")
        lower, upper = index.start or 0, index.stop
        if lower < 0 or (upper is not None and upper < 0):
            raise ValueError("a timeline is sliced with non-negative bounds")
        start = self.start + lower
        stop = self.start + upper if upper is not None else None
        if self.stop is not None:
            stop = self.stop if stop is None else min(stop, self.stop)
        return Timeline(self.contact, self.kinds, start, stop)

    def __iter__(self) -> Iterator[TimelineEntry]:
        query = self._rows()
        if query is None or (self.stop is not None and self.stop <= self.start):
            return iter(())
        rows = list(query[self.start : self.stop])
        wanted: dict[str, list[int]] = {"event": [], "message": []}
        for _, table, pk in rows:
            wanted[table].append(pk)
        events = Event.objects.in_bulk(wanted["event"]) if wanted["event"] else {}
        messages = (
            Message.objects.select_related("run__journey", "contact")
            .prefetch_related(
                Prefetch("events", queryset=MessageEvent.objects.order_by("at", "pk"))
            )
            .in_bulk(wanted["message"])
            if wanted["message"]
            else {}
        )
        entries = []
        for _, table, pk in rows:
            if table == "event" and pk in events:
                entries.append(_event_entry(events[pk]))
            elif table == "message" and pk in messages:
                entries.append(_message_entry(messages[pk]))
        return iter(entries)

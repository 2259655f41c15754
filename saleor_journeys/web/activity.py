"""Web-activity triggers: "3 views of the same product within an hour", "a minute on /blog/*
within a day". Evaluated when a ``page_viewed`` or ``page_engaged`` event is logged, for every
live journey with such a trigger at once: the contact's web events of the longest window are
read in one query (the log is indexed by contact and time), the bought products only when a
product trigger would fire.

A trigger fires when its threshold is *reached* by the new event (it did not hold without it),
so a contact who goes on browsing is not enrolled at every page, whatever the re-entry policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any, TypeVar
from urllib.parse import urlsplit

from saleor_journeys.commerce.models import OrderLine
from saleor_journeys.contacts.models import Contact
from saleor_journeys.events.models import Event
from saleor_journeys.journeys import durations
from saleor_journeys.journeys.definition import WebActivityMatch, WebActivityTrigger
from saleor_journeys.runtime.runs import VOID_ORDER_STATUSES

PAGE_VIEWED = "page_viewed"
PAGE_ENGAGED = "page_engaged"
WEB_EVENTS = frozenset({PAGE_VIEWED, PAGE_ENGAGED})
PRODUCT_FIELDS = ("id", "name", "image", "url", "price", "currency")

J = TypeVar("J")


@dataclass(frozen=True)
class Firing:
    key: str
    """The run's trigger key, ``web:<product id or pattern>``: re-entry rules apply per key."""
    context: dict[str, Any] = field(default_factory=dict)
    """The run's initial context: ``product`` (and ``page``) the trigger fired for."""


@dataclass(frozen=True)
class _Row:
    pk: int
    type: str
    at: datetime
    key: str
    data: Mapping[str, Any]


def bought_products(contact: Contact) -> set[str]:
    """Ids of the products in the contact's orders that count as purchases."""
    return set(
        OrderLine.objects.filter(order__contact=contact)
        .exclude(order__status__in=VOID_ORDER_STATUSES)
        .exclude(product_id="")
        .values_list("product_id", flat=True)
        .distinct()
    )


def path_of(data: Mapping[str, Any]) -> str:
    """The page's path: stored with the event, or taken from its URL."""
    path = data.get("path")
    if isinstance(path, str) and path:
        return path
    url = data.get("url")
    return (urlsplit(url).path or "/") if isinstance(url, str) and url else ""


def _id(value: Any) -> str | None:
    if isinstance(value, Mapping) and isinstance(value.get("id"), str) and value["id"]:
        return str(value["id"])
    return None


def product_of(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The product a page is about, as templates see it: plain strings only."""
    product = data.get("product")
    if _id(product) is None:
        return None
    assert isinstance(product, Mapping)
    card = {name: str(product.get(name) or "") for name in PRODUCT_FIELDS}
    card["url"] = card["url"] or str(data.get("url") or "")
    card["path"] = path_of(data)
    return card


class _Pages:
    """Resolves an engaged-time event to the page view it measured: its own product and
    category when the event carries them (the collect endpoint copies them), else those of the
    page view it names (``page``, the snippet's id of the page event), else of the latest view
    of the same URL."""

    def __init__(self, rows: list[_Row]) -> None:
        self.by_id: dict[str, Mapping[str, Any]] = {}
        self.by_url: dict[str, Mapping[str, Any]] = {}
        for row in sorted((r for r in rows if r.type == PAGE_VIEWED), key=lambda r: r.at):
            own_id = row.data.get("page")  # a page view stores its own id as ``page``
            for page_id in (own_id if isinstance(own_id, str) else "", row.key.rsplit(":", 1)[-1]):
                if page_id:
                    self.by_id[page_id] = row.data
            if isinstance(row.data.get("url"), str):
                self.by_url[row.data["url"]] = row.data

    def page(self, row: _Row) -> Mapping[str, Any]:
        if row.type == PAGE_VIEWED or "product" in row.data or "category" in row.data:
            return row.data
        page_id = row.data.get("page")
        viewed = self.by_id.get(page_id) if isinstance(page_id, str) else None
        viewed = viewed or self.by_url.get(str(row.data.get("url") or ""))
        if viewed is None:
            return row.data
        return {**viewed, **{k: v for k, v in row.data.items() if k in ("url", "path")}}


def _matches(match: WebActivityMatch, page: Mapping[str, Any], product_id: str | None) -> bool:
    own = _id(page.get("product"))
    if match.product == "any":
        if own is None or (product_id is not None and own != product_id):
            return False
    elif match.product is not None and own != match.product:
        return False
    if match.category is not None and _id(page.get("category")) != match.category:
        return False
    return match.url is None or fnmatchcase(path_of(page), match.url)


def _amount(row: _Row) -> tuple[int, float]:
    """(views, engaged seconds) the row adds."""
    if row.type == PAGE_VIEWED:
        return 1, 0.0
    seconds = row.data.get("seconds")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds > 0:
        return 0, float(seconds)
    return 0, 0.0


def _reached(trigger: WebActivityTrigger, views: int, seconds: float) -> bool:
    return (trigger.views is not None and views >= trigger.views) or (
        trigger.seconds is not None and seconds >= trigger.seconds
    )


def _key(trigger: WebActivityTrigger, product_id: str | None) -> str:
    match = trigger.match
    if match.product is not None and product_id is not None:
        name = product_id
    else:
        name = match.url or match.category or "*"
    return f"web:{name}"[:128]


def _fires(
    trigger: WebActivityTrigger, event: Event, rows: list[_Row], pages: _Pages
) -> Firing | None:
    """Whether ``event`` makes the trigger's threshold reached (before any bought check)."""
    current = next((row for row in rows if row.pk == event.pk), None)
    if current is None:
        return None
    page = pages.page(current)
    product = product_of(page)
    product_id = product["id"] if product is not None else None
    if not _matches(trigger.match, page, product_id):
        return None
    since = event.occurred_at - durations.parse(trigger.within)
    views = views_before = 0
    seconds = seconds_before = 0.0
    for row in rows:
        if row.at < since or not _matches(trigger.match, pages.page(row), product_id):
            continue
        added_views, added_seconds = _amount(row)
        views += added_views
        seconds += added_seconds
        if row.pk != event.pk:
            views_before += added_views
            seconds_before += added_seconds
    if not _reached(trigger, views, seconds) or _reached(trigger, views_before, seconds_before):
        return None
    context: dict[str, Any] = {
        "page": {"url": str(page.get("url") or ""), "path": path_of(page)},
    }
    title = page.get("title")
    if isinstance(title, str):
        context["page"]["title"] = title
    if product is not None:
        context["product"] = product
    return Firing(_key(trigger, product_id), context)


def evaluate(
    event: Event, triggers: Iterable[tuple[J, WebActivityTrigger]]
) -> list[tuple[J, Firing]]:
    """The triggers (each with what it belongs to, a journey) that ``event`` fires, with what
    each fired for. One query for the contact's web events, one more for the bought products
    only when a product trigger fires."""
    triggers = list(triggers)
    contact = event.contact
    if not triggers or contact is None or event.type not in WEB_EVENTS:
        return []
    longest = max(durations.parse(t.within) for _, t in triggers)
    rows = [
        _Row(pk, kind, at, key, data if isinstance(data, dict) else {})
        for pk, kind, at, key, data in Event.objects.filter(
            contact=contact,
            type__in=WEB_EVENTS,
            occurred_at__gte=event.occurred_at - longest,
            occurred_at__lte=event.occurred_at,
        ).values_list("pk", "type", "occurred_at", "key", "data")
    ]
    pages = _Pages(rows)
    bought: set[str] | None = None
    fired = []
    for owner, trigger in triggers:
        firing = _fires(trigger, event, rows, pages)
        if firing is None:
            continue
        product = firing.context.get("product")
        if trigger.exclude_bought and product is not None:
            bought = bought_products(contact) if bought is None else bought
            if product["id"] in bought:
                continue
        fired.append((owner, firing))
    return fired

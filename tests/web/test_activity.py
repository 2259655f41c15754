"""Web-activity triggers: page views and engaged time logged as the collect endpoint logs them
start journeys at their threshold, per product, inside their window, never for a bought
product, for anonymous visitors too."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from saleor_journeys.commerce.models import Order, OrderLine
from saleor_journeys.contacts.models import Contact, ContactKind
from saleor_journeys.core.clock import FrozenClock
from saleor_journeys.events import log
from saleor_journeys.events.models import Event
from saleor_journeys.journeys import builtin, versions
from saleor_journeys.journeys.definition import validate
from saleor_journeys.journeys.models import Journey, Run, RunStatus
from saleor_journeys.journeys.simulation import simulate
from saleor_journeys.saleor.models import Installation
from saleor_journeys.web.models import Visitor

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SHOP = "https://shop.example.com"
HOODIE = {
    "id": "UHJvZHVjdDoxMzI=",
    "name": "Blue Hoodie",
    "image": f"{SHOP}/media/blue-hoodie.jpg",
    "url": f"{SHOP}/products/blue-hoodie",
    "price": "35.00",
    "currency": "USD",
}
CAP = {"id": "UHJvZHVjdDoxNDA=", "name": "Red Cap", "url": f"{SHOP}/products/red-cap"}
SWEATSHIRTS = {"id": "Q2F0ZWdvcnk6Mjk=", "name": "Sweatshirts"}
_ids = itertools.count(1)


def visitor_of(contact: Contact) -> Visitor:
    visitor = Visitor.objects.filter(contact=contact).first()
    if visitor is None:
        visitor = Visitor.objects.create(
            installation_id=contact.installation_id,
            uid=f"v_{contact.pk:08d}",
            contact=contact,
            created_at=T0,
            last_seen_at=T0,
        )
    return visitor


def view(
    contact: Contact,
    product: dict[str, Any] | None = None,
    *,
    at: datetime,
    path: str | None = None,
    category: dict[str, Any] | None = None,
) -> Event:
    """A page view, logged as the collect endpoint logs one."""
    uid = visitor_of(contact).uid
    page_id = f"p_{next(_ids):08d}"
    path = path or (product["url"].removeprefix(SHOP) if product else "/")
    data: dict[str, Any] = {
        "url": SHOP + path,
        "path": path,
        "title": product["name"] if product else "Shop",
        "referrer": "",
        "visitor": uid,
        "page": page_id,
    }
    if product is not None:
        data["product"] = product
    if category is not None:
        data["category"] = category
    with FrozenClock(at):
        return log.record(
            installation_id=contact.installation_id,
            contact=contact,
            type="page_viewed",
            source="web",
            key=f"web:{uid}:{page_id}",
            occurred_at=at,
            received_at=at,
            data=data,
        )


def engaged(contact: Contact, page: Event, seconds: float, *, at: datetime) -> Event:
    """Engaged time on a page sent in a later batch: the collect endpoint copies the page's
    product and category; a page without them has only its URL."""
    uid = visitor_of(contact).uid
    data = {
        "url": page.data["url"],
        "path": page.data["path"],
        "seconds": seconds,
        "visitor": uid,
        "page": page.data["page"],
    }
    data.update({k: page.data[k] for k in ("product", "category") if k in page.data})
    with FrozenClock(at):
        return log.record(
            installation_id=contact.installation_id,
            contact=contact,
            type="page_engaged",
            source="web",
            key=f"web:{uid}:e_{next(_ids):08d}",
            occurred_at=at,
            received_at=at,
            data=data,
        )


def published(
    installation: Installation, trigger: dict[str, Any], name: str = "Interest", **settings: Any
) -> Journey:
    definition = {
        "name": name,
        "trigger": trigger,
        "settings": settings,
        "start": "end",
        "nodes": [{"id": "end", "type": "exit"}],
    }
    with FrozenClock(T0 - timedelta(days=1)):
        journey = versions.create(installation, definition, actor="tests")
        versions.publish(journey, actor="tests")
    journey.refresh_from_db()
    return journey


def bought(contact: Contact, product_id: str, *, status: str = "UNFULFILLED") -> None:
    order = Order.objects.create(
        installation_id=contact.installation_id,
        saleor_id=f"T3JkZXI6{next(_ids)}",
        number=str(next(_ids)),
        contact=contact,
        status=status,
        channel_slug="default-channel",
        saleor_updated_at=T0 - timedelta(days=3),
    )
    OrderLine.objects.create(
        order=order,
        product_id=product_id,
        product_name="Blue Hoodie",
        quantity=1,
        unit_price=Decimal("35.00"),
        total_price=Decimal("35.00"),
        currency="USD",
    )


@pytest.fixture
def anonymous(installation: Installation) -> Contact:
    """A visitor nobody has identified yet: a card without an email."""
    contact = Contact.objects.create(installation=installation, kind=ContactKind.ANONYMOUS)
    visitor_of(contact)
    return contact


@pytest.fixture
def known(installation: Installation) -> Contact:
    contact = Contact.objects.create(installation=installation, email="maria@example.org")
    visitor_of(contact)
    return contact


PRODUCT_ANY = {"type": "web_activity", "match": {"product": "any"}, "views": 3, "within": "1h"}


def test_the_third_view_of_one_product_enrols_an_anonymous_visitor(anonymous: Contact) -> None:
    journey = published(anonymous.installation, PRODUCT_ANY)

    view(anonymous, HOODIE, at=T0)
    view(anonymous, HOODIE, at=T0 + timedelta(minutes=10))
    view(anonymous, CAP, at=T0 + timedelta(minutes=15))  # another product counts on its own
    view(anonymous, CAP, at=T0 + timedelta(minutes=16))
    assert not Run.objects.exists()  # N-1 views: not yet

    view(anonymous, HOODIE, at=T0 + timedelta(minutes=20))

    run = Run.objects.get()
    assert (run.journey, run.contact, run.entered_at) == (
        journey,
        anonymous,
        T0 + timedelta(minutes=20),
    )
    assert run.trigger_key == f"web:{HOODIE['id']}"
    product = run.context["product"]
    assert (product["id"], product["name"], product["price"], product["currency"]) == (
        HOODIE["id"],
        "Blue Hoodie",
        "35.00",
        "USD",
    )
    assert (product["url"], product["image"], product["path"]) == (
        HOODIE["url"],
        HOODIE["image"],
        "/products/blue-hoodie",
    )


def test_views_outside_the_window_do_not_count(anonymous: Contact) -> None:
    published(anonymous.installation, PRODUCT_ANY)

    view(anonymous, HOODIE, at=T0)
    view(anonymous, HOODIE, at=T0 + timedelta(minutes=50))
    view(anonymous, HOODIE, at=T0 + timedelta(minutes=61))  # the first one is out of the hour
    assert not Run.objects.exists()

    view(anonymous, HOODIE, at=T0 + timedelta(minutes=70))
    assert Run.objects.get().entered_at == T0 + timedelta(minutes=70)


def test_it_fires_when_the_threshold_is_reached_not_at_every_view_after(
    anonymous: Contact,
) -> None:
    published(anonymous.installation, PRODUCT_ANY, reentry={"policy": "always"})
    for minutes in (0, 5, 10):
        view(anonymous, HOODIE, at=T0 + timedelta(minutes=minutes))
    Run.objects.update(status=RunStatus.DONE)

    view(anonymous, HOODIE, at=T0 + timedelta(minutes=15))  # a 4th view: still the same interest
    assert Run.objects.count() == 1

    later = T0 + timedelta(hours=3)  # a new visit, three views again
    for minutes in (0, 5, 10):
        view(anonymous, HOODIE, at=later + timedelta(minutes=minutes))
    assert Run.objects.count() == 2


def test_engaged_seconds_add_up_per_product(anonymous: Contact) -> None:
    trigger = {"type": "web_activity", "match": {"product": "any"}, "seconds": 60}
    published(anonymous.installation, trigger)
    hoodie = view(anonymous, HOODIE, at=T0)
    cap = view(anonymous, CAP, at=T0 + timedelta(minutes=1))

    engaged(anonymous, hoodie, 35, at=T0 + timedelta(minutes=2))
    engaged(anonymous, cap, 50, at=T0 + timedelta(minutes=3))  # another product's time
    engaged(anonymous, hoodie, 24.5, at=T0 + timedelta(minutes=4))
    assert not Run.objects.exists()  # 59.5 s on the hoodie

    engaged(anonymous, hoodie, 1, at=T0 + timedelta(minutes=5))

    run = Run.objects.get()
    assert run.context["product"]["name"] == "Blue Hoodie"


def test_views_or_seconds_whichever_comes_first(anonymous: Contact) -> None:
    trigger = {**PRODUCT_ANY, "seconds": 60}
    published(anonymous.installation, trigger)

    page = view(anonymous, HOODIE, at=T0)
    engaged(anonymous, page, 75, at=T0 + timedelta(minutes=2))

    assert Run.objects.get().trigger_key == f"web:{HOODIE['id']}"


def test_never_for_a_product_the_contact_bought(known: Contact) -> None:
    published(known.installation, PRODUCT_ANY)
    bought(known, HOODIE["id"])

    for minutes in (0, 5, 10):
        view(known, HOODIE, at=T0 + timedelta(minutes=minutes))

    assert not Run.objects.exists()


def test_a_cancelled_order_is_not_a_purchase(known: Contact) -> None:
    published(known.installation, PRODUCT_ANY)
    bought(known, HOODIE["id"], status="CANCELED")

    for minutes in (0, 5, 10):
        view(known, HOODIE, at=T0 + timedelta(minutes=minutes))

    assert Run.objects.get().contact == known


def test_exclude_bought_can_be_turned_off(known: Contact) -> None:
    published(known.installation, {**PRODUCT_ANY, "exclude_bought": False})
    bought(known, HOODIE["id"])

    for minutes in (0, 5, 10):
        view(known, HOODIE, at=T0 + timedelta(minutes=minutes))

    assert Run.objects.get().context["product"]["id"] == HOODIE["id"]


def test_one_product_by_id(anonymous: Contact) -> None:
    trigger = {**PRODUCT_ANY, "match": {"product": CAP["id"]}, "views": 2}
    published(anonymous.installation, trigger)

    view(anonymous, HOODIE, at=T0)
    view(anonymous, HOODIE, at=T0 + timedelta(minutes=1))
    assert not Run.objects.exists()
    view(anonymous, CAP, at=T0 + timedelta(minutes=2))
    view(anonymous, CAP, at=T0 + timedelta(minutes=3))

    assert Run.objects.get().trigger_key == f"web:{CAP['id']}"


def test_a_category_counts_all_its_products(anonymous: Contact) -> None:
    trigger = {**PRODUCT_ANY, "match": {"category": SWEATSHIRTS["id"]}, "views": 2}
    published(anonymous.installation, trigger)

    view(anonymous, HOODIE, at=T0, category=SWEATSHIRTS)
    view(anonymous, CAP, at=T0 + timedelta(minutes=1))  # no category: not counted
    assert not Run.objects.exists()
    view(anonymous, CAP, at=T0 + timedelta(minutes=2), category=SWEATSHIRTS)

    run = Run.objects.get()
    assert run.trigger_key == f"web:{SWEATSHIRTS['id']}"
    assert run.context["product"]["id"] == CAP["id"]  # what the page that fired it was about


def test_a_url_pattern_with_engaged_time_on_pages_without_products(anonymous: Contact) -> None:
    trigger = {"type": "web_activity", "match": {"url": "/blog/*"}, "seconds": 120, "within": "1d"}
    journey = published(anonymous.installation, trigger)
    first = view(anonymous, at=T0, path="/blog/feeding-puppies")
    shop = view(anonymous, at=T0 + timedelta(minutes=5), path="/products")
    second = view(anonymous, at=T0 + timedelta(hours=5), path="/blog/first-walks")

    engaged(anonymous, first, 70, at=T0 + timedelta(minutes=3))
    engaged(anonymous, shop, 300, at=T0 + timedelta(minutes=9))  # not the blog
    assert not Run.objects.exists()
    engaged(anonymous, second, 50, at=T0 + timedelta(hours=5, minutes=2))

    run = Run.objects.get()
    assert (run.journey, run.trigger_key) == (journey, "web:/blog/*")
    assert "product" not in run.context
    assert run.context["page"]["path"] == "/blog/first-walks"


def test_other_events_and_other_contacts_do_not_count(anonymous: Contact, known: Contact) -> None:
    published(anonymous.installation, PRODUCT_ANY)
    view(anonymous, HOODIE, at=T0)
    view(known, HOODIE, at=T0 + timedelta(minutes=1))
    view(anonymous, HOODIE, at=T0 + timedelta(minutes=2))
    with FrozenClock(T0 + timedelta(minutes=3)):
        log.record(
            installation_id=anonymous.installation_id,
            contact=anonymous,
            type="custom.wishlist_added",
            source="web",
            key="web:custom:1",
            occurred_at=T0 + timedelta(minutes=3),
            received_at=T0 + timedelta(minutes=3),
            data={"product": HOODIE},
        )

    assert not Run.objects.exists()


def test_one_read_of_the_log_per_page_view_for_all_web_journeys(anonymous: Contact) -> None:
    first = published(anonymous.installation, PRODUCT_ANY, name="Product interest")
    second = published(
        anonymous.installation,
        {"type": "web_activity", "match": {"url": "/products/*"}, "views": 3, "within": "1d"},
        name="Browsing",
    )
    view(anonymous, HOODIE, at=T0)
    view(anonymous, CAP, at=T0 + timedelta(minutes=1))

    with CaptureQueriesContext(connection) as queries:
        view(anonymous, HOODIE, at=T0 + timedelta(minutes=2))

    reads = [q["sql"] for q in queries.captured_queries if "page_engaged" in q["sql"]]
    assert len(reads) == 1, reads
    assert [run.journey for run in Run.objects.all()] == [second]  # 3 pages, 2 of the hoodie
    assert first.runs.count() == 0


def test_the_trigger_needs_a_threshold() -> None:
    definition = builtin.load("web-activity")
    definition["trigger"] = {"type": "web_activity", "match": {"product": "any"}}

    problems = validate(definition).problems

    assert [(p.path, p.message) for p in problems] == [
        ("trigger", "Value error, give views, seconds or both")
    ]
    definition["trigger"] = {"type": "web_activity", "views": 0, "match": {"sku": "x"}}
    assert {p.path for p in validate(definition).problems} == {"trigger.views", "trigger.match.sku"}


@pytest.mark.parametrize("name", ["web-activity", "blog-subscribe"])
def test_the_simulator_takes_web_activity_journeys(db: None, name: str) -> None:
    # Saleor deliveries never are page views: the journey simply enrols nobody.
    assert simulate(builtin.load(name), [], start=T0, until=T0 + timedelta(days=3)) == []
